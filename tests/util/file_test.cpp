// Bounded reads and crash-safe, mode-exact writes (util/file.h).

#include "util/file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cairn/bytes.h"
#include "support/temp_dir.h"
#include "util/fault_injection_env.h"

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
  EXPECT_NE(read.status().message().find("1001 bytes"), std::string::npos) << read.status().message();
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

TEST(TemporaryPathFor, IsFreshOnEveryCallAndRecognisable) {
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) names.insert(TemporaryPathFor("/x/journal"));
  EXPECT_EQ(names.size(), 1000u);
  for (const auto& name : names) {
    EXPECT_EQ(name.rfind("/x/journal.tmp.", 0), 0u) << name;
    EXPECT_TRUE(IsTemporaryName(std::filesystem::path(name).filename().string())) << name;
  }
  EXPECT_FALSE(IsTemporaryName("journal"));
}

// Two writers of one path in one process, with a reader watching: every read
// and the final file are one writer's complete contents, and no temporary is
// left behind (with per-process temporary names the writers would truncate
// each other's temporary and rename torn files into place).
void HammerOnePath(bool group_commit) {
  constexpr int kWritesPerThread = 200;
  constexpr size_t kContentBytes = 64 << 10;
  TempDir dir;
  const std::string path = dir.File("target");
  const std::string a(kContentBytes, 'a');
  const std::string b(kContentBytes * 2, 'b');  // Different lengths: a mix is visible.
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  auto writer = [&](const std::string& contents) {
    for (int i = 0; i < kWritesPerThread; ++i) {
      Status s =
          group_commit ? WriteFilesAtomic({{path, ByteView(contents)}}) : WriteFileAtomic(path, ByteView(contents));
      if (!s.ok()) failures++;
    }
  };
  int torn_reads = 0;
  int reads = 0;
  std::thread reader([&] {
    while (!writers_done.load()) {
      auto read = ReadFile(path, 1 << 20);
      if (!read.ok()) continue;  // Not written yet.
      std::string text(read->begin(), read->end());
      reads++;
      if (text != a && text != b) torn_reads++;
    }
  });
  std::thread first(writer, std::cref(a));
  std::thread second(writer, std::cref(b));
  first.join();
  second.join();
  writers_done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn_reads, 0) << "of " << reads << " reads";
  Bytes final_bytes = ReadOrDie(path);
  std::string final_text(final_bytes.begin(), final_bytes.end());
  EXPECT_TRUE(final_text == a || final_text == b);
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{"target"});
}

TEST(WriteFileAtomic, TwoWritersOfOnePathInOneProcessNeverCollide) { HammerOnePath(/*group_commit=*/false); }

TEST(WriteFilesAtomic, TwoWritersOfOnePathInOneProcessNeverCollide) { HammerOnePath(/*group_commit=*/true); }

TEST(WriteFilesAtomic, WritesEveryFileAndLeavesNoTemporaries) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.File("sub")).ok());
  std::string x = "x contents", y = "y contents";
  ASSERT_TRUE(WriteFilesAtomic({{dir.File("x"), ByteView(x)}, {dir.File("sub/y"), ByteView(y)}}, 0600).ok());
  EXPECT_EQ(ReadOrDie(dir.File("x")), ByteView(x).ToBytes());
  EXPECT_EQ(ReadOrDie(dir.File("sub/y")), ByteView(y).ToBytes());
  EXPECT_EQ(ModeOf(dir.File("sub/y")), 0600u);
  EXPECT_EQ(Entries(dir.File("sub")), std::vector<std::string>{"y"});
  EXPECT_TRUE(WriteFilesAtomic({}).ok());
}

TEST(WriteFilesAtomic, FailsCleanlyWhenOneDirectoryIsMissing) {
  TempDir dir;
  std::string x = "x";
  Status s = WriteFilesAtomic({{dir.File("x"), ByteView(x)}, {dir.File("missing/y"), ByteView(x)}});
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(Entries(dir.path()).empty());  // The first file's temporary is removed too.
}

// Over the fault-injecting Env: power lost at each operation of an atomic
// replace leaves the old or the new contents, never anything else; an OK
// return means the new contents survive.
TEST(WriteFileAtomic, SurvivesAPowerLossAtEveryOperation) {
  for (uint64_t crash_after = 0;; ++crash_after) {
    FaultInjectionEnv env;
    ASSERT_TRUE(MakeDirsDurable(&env, "/data").ok());
    ASSERT_TRUE(WriteFileAtomic(&env, "/data/state", ByteView(std::string_view("old"))).ok());
    env.CrashAfter(crash_after);
    Status s = WriteFileAtomic(&env, "/data/state", ByteView(std::string_view("new contents")));
    bool crashed = env.crashed();
    env.SimulatePowerLoss();
    auto read = env.ReadFile("/data/state", 100);
    ASSERT_TRUE(read.ok()) << "crash after " << crash_after << ": " << read.status().ToString();
    std::string text(read->begin(), read->end());
    if (s.ok()) {
      EXPECT_EQ(text, "new contents") << "crash after " << crash_after;
    } else {
      EXPECT_TRUE(text == "old" || text == "new contents") << "crash after " << crash_after << ": " << text;
    }
    EXPECT_EQ(env.AllFiles(), std::vector<std::string>{"/data/state"}) << "crash after " << crash_after;
    if (!crashed) break;  // The write finished before the crash point: every point was tried.
  }
}

TEST(MakeDirsDurable, NewLevelsSurviveAPowerLoss) {
  FaultInjectionEnv env;
  ASSERT_TRUE(MakeDirsDurable(&env, "/a/b/c").ok());
  ASSERT_TRUE(MakeDirsDurable(&env, "/a/b/c").ok());  // Idempotent.
  env.SimulatePowerLoss();
  EXPECT_TRUE(env.FileExists("/a/b/c"));
}

TEST(MakeDirsDurable, MakesAnExistingButUnsyncedDirectoryDurable) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.CreateDir("/left-by-a-crash").ok());  // Never synced into "/".
  ASSERT_TRUE(MakeDirsDurable(&env, "/left-by-a-crash").ok());
  env.SimulatePowerLoss();
  EXPECT_TRUE(env.FileExists("/left-by-a-crash"));
}

TEST(MakeDirsDurable, WithoutItANewDirectoryIsLost) {
  // The control: what MakeDirsDurable prevents.
  FaultInjectionEnv env;
  ASSERT_TRUE(env.CreateDir("/a").ok());
  ASSERT_TRUE(env.CreateDir("/a/b").ok());
  ASSERT_TRUE(env.SyncDir("/a").ok());
  env.SimulatePowerLoss();
  EXPECT_FALSE(env.FileExists("/a"));
}

TEST(MakeDirsDurable, SurvivesAPowerLossAtEveryOperation) {
  for (uint64_t crash_after = 0;; ++crash_after) {
    FaultInjectionEnv env;
    env.CrashAfter(crash_after);
    Status s = MakeDirsDurable(&env, "/a/b/c");
    bool crashed = env.crashed();
    env.SimulatePowerLoss();
    if (s.ok()) {
      EXPECT_TRUE(env.FileExists("/a/b/c")) << "crash after " << crash_after;
    }
    // Retrying after the power loss always completes.
    ASSERT_TRUE(MakeDirsDurable(&env, "/a/b/c").ok());
    env.SimulatePowerLoss();
    EXPECT_TRUE(env.FileExists("/a/b/c")) << "crash after " << crash_after;
    if (!crashed) break;
  }
}

TEST(MakeDirsDurable, RefusesAnEmptyPathAndAFileInTheWay) {
  FaultInjectionEnv env;
  EXPECT_EQ(MakeDirsDurable(&env, "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(&env, "/file", ByteView(std::string_view("x"))).ok());
  EXPECT_EQ(MakeDirsDurable(&env, "/file").code(), StatusCode::kIoError);
  EXPECT_EQ(MakeDirsDurable(&env, "/file/sub").code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace cairn::util
