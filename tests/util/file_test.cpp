// Bounded reads and crash-safe, mode-exact writes (util/file.h).

#include "util/file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "support/temp_dir.h"

namespace cairn::util {
namespace {

using cairn::testing::TempDir;

// Sets the process umask for the scope of one test.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  CAIRN_ASSERT(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

Bytes ReadOrDie(const std::string& path) {
  auto bytes = ReadFile(path, 1 << 20);
  CAIRN_ASSERT(bytes.ok());
  return std::move(bytes).value();
}

TEST(WriteFileAtomic, WritesExactlyTheContents) {
  TempDir dir;
  std::string path = dir.File("state.bin");
  Bytes contents = {0x00, 0x01, 0xff, 0x0a, 0x0d};
  ASSERT_TRUE(WriteFileAtomic(path, contents).ok());
  EXPECT_EQ(ReadOrDie(path), contents);
}

TEST(WriteFileAtomic, ReplacesALongerFileWithoutLeftovers) {
  TempDir dir;
  std::string path = dir.File("config.toml");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string(10000, 'x'))).ok());
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("short"))).ok());
  Bytes read = ReadOrDie(path);
  EXPECT_EQ(std::string(read.begin(), read.end()), "short");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView()).ok());
  EXPECT_TRUE(ReadOrDie(path).empty());
}

TEST(WriteFileAtomic, LeavesNoTemporaryFiles) {
  TempDir dir;
  std::string path = dir.File("a");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("1"))).ok());
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("2"))).ok());
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{"a"});
}

TEST(WriteFileAtomic, AppliesTheModeExactlyWhateverTheUmask) {
  TempDir dir;
  ScopedUmask umask(077);  // Would turn 0644 into 0600 without the fchmod.
  for (unsigned mode : {0600u, 0640u, 0644u, 0400u}) {
    std::string path = dir.File("file-" + std::to_string(mode));
    ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("x")), mode).ok());
    EXPECT_EQ(ModeOf(path), mode) << std::oct << mode;
  }
}

TEST(WriteFileAtomic, DefaultsToMode0644) {
  TempDir dir;
  ScopedUmask umask(077);
  std::string path = dir.File("public");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("x"))).ok());
  EXPECT_EQ(ModeOf(path), 0644u);
}

TEST(WriteFileAtomic, TightensTheModeOfAnExistingFile) {
  TempDir dir;
  std::string path = dir.File("secret");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("old")), 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string_view("new")), 0600).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  Bytes read = ReadOrDie(path);
  EXPECT_EQ(std::string(read.begin(), read.end()), "new");
}

TEST(WriteFileAtomic, FailsInAMissingDirectory) {
  TempDir dir;
  std::string path = dir.File("missing/file");
  Status s = WriteFileAtomic(path, ByteView(std::string_view("x")));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_TRUE(Entries(dir.path()).empty());
}

TEST(ReadFile, ReadsFilesUpToTheLimit) {
  TempDir dir;
  std::string path = dir.File("f");
  std::string text(1000, 'q');
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(text)).ok());
  auto read = ReadFile(path, 1000);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 1000u);
}

TEST(ReadFile, RefusesFilesLargerThanTheLimit) {
  TempDir dir;
  std::string path = dir.File("f");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView(std::string(1001, 'q'))).ok());
  auto read = ReadFile(path, 1000);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(read.status().message().find("1001 bytes"), std::string::npos)
      << read.status().message();
  EXPECT_EQ(ReadFile(path, 0).status().code(), StatusCode::kResourceExhausted);
}

TEST(ReadFile, ReportsMissingFileAsNotFound) {
  TempDir dir;
  auto read = ReadFile(dir.File("nope"), 100);
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("nope"), std::string::npos);
}

TEST(ReadFile, RefusesDirectories) {
  TempDir dir;
  EXPECT_EQ(ReadFile(dir.path(), 1 << 20).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReadFile, ReadsEmptyFile) {
  TempDir dir;
  std::string path = dir.File("empty");
  ASSERT_TRUE(WriteFileAtomic(path, ByteView()).ok());
  auto read = ReadFile(path, 0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->empty());
}

TEST(MakeDirs, CreatesNestedDirectoriesIdempotently) {
  TempDir dir;
  std::string nested = dir.File("a/b/c");
  EXPECT_FALSE(FileExists(nested));
  ASSERT_TRUE(MakeDirs(nested).ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  EXPECT_TRUE(MakeDirs(nested).ok());
  EXPECT_TRUE(FileExists(nested));
}

TEST(MakeDirs, FailsWhenAFileIsInTheWay) {
  TempDir dir;
  std::string file = dir.File("plain");
  ASSERT_TRUE(WriteFileAtomic(file, ByteView(std::string_view("x"))).ok());
  EXPECT_EQ(MakeDirs(file + "/sub").code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace cairn::util
