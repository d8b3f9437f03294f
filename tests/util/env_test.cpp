// The POSIX Env (util/env.h): each call does what its system call does and
// reports failures as Statuses naming the path.

#include "util/env.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace cairn::util {
namespace {

using cairn::testing::TempDir;

TEST(PosixEnv, WritesSyncsRenamesListsAndRemoves) {
  TempDir dir;
  Env* env = Env::Default();
  auto file = env->NewWritableFile(dir / "a", 0600);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append(ByteView(std::string_view("hello "))).ok());
  ASSERT_TRUE((*file)->Append(ByteView(std::string_view("world"))).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  ASSERT_TRUE(env->RenameFile(dir / "a", dir / "b").ok());
  ASSERT_TRUE(env->SyncDir(dir.path()).ok());
  auto read = env->ReadFile(dir / "b", 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::string(read->begin(), read->end()), "hello world");
  ASSERT_TRUE(env->CreateDir(dir / "sub").ok());
  auto names = env->ListDir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "sub"}));
  ASSERT_TRUE(env->RemoveFile(dir / "b").ok());
  EXPECT_FALSE(env->FileExists(dir / "b"));
  EXPECT_TRUE(env->FileExists(dir / "sub"));
}

TEST(PosixEnv, ReportsMissingAndMisplacedThings) {
  TempDir dir;
  Env* env = Env::Default();
  EXPECT_EQ(env->RemoveFile(dir / "none").code(), StatusCode::kNotFound);
  EXPECT_EQ(env->ListDir(dir / "none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env->ReadFile(dir / "none", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env->CreateDir(dir.path()).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(env->CreateDir(dir / "none/sub").code(), StatusCode::kIoError);
  std::string file = dir.Write("file", std::string_view("x"));
  Status in_the_way = env->CreateDir(file);
  EXPECT_EQ(in_the_way.code(), StatusCode::kIoError);
  EXPECT_NE(in_the_way.message().find(file), std::string::npos) << in_the_way.message();
  EXPECT_EQ(env->SyncDir(dir / "none").code(), StatusCode::kIoError);
  EXPECT_EQ(env->NewWritableFile(dir / "none/f", 0644).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace cairn::util
