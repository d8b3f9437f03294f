// FaultInjectionEnv keeps exactly what POSIX promises across a power loss:
// synced file data and the entries of synced directories, nothing else.

#include "util/fault_injection_env.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cairn/bytes.h"

namespace cairn::util {
namespace {

std::string Text(const Result<Bytes>& bytes) {
  CAIRN_ASSERT(bytes.ok());
  return std::string(bytes->begin(), bytes->end());
}

// Creates `path` with `contents`, optionally fsynced, and closes it.
void Write(Env* env, const std::string& path, std::string_view contents, bool sync) {
  auto file = env->NewWritableFile(path, 0644);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append(ByteView(contents)).ok());
  if (sync) {
    ASSERT_TRUE((*file)->Sync().ok());
  }
  ASSERT_TRUE((*file)->Close().ok());
}

// A durable directory /d to work in.
class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.CreateDir("/d").ok());
    ASSERT_TRUE(env_.SyncDir("/").ok());
  }
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, KeepsSyncedDataAndTruncatesTheRest) {
  auto file = env_.NewWritableFile("/d/f", 0644);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE((*file)->Append(ByteView(std::string_view("abc"))).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append(ByteView(std::string_view("def"))).ok());
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "abcdef");
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "abc");
}

TEST_F(FaultInjectionEnvTest, AFileNeverSyncedComesBackEmptyWhenItsNameIsDurable) {
  Write(&env_, "/d/f", "data", /*sync=*/false);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "");
}

TEST_F(FaultInjectionEnvTest, ForgetsACreateWhoseDirectoryWasNotSynced) {
  Write(&env_, "/d/f", "data", /*sync=*/true);
  EXPECT_TRUE(env_.FileExists("/d/f"));
  env_.SimulatePowerLoss();
  EXPECT_FALSE(env_.FileExists("/d/f"));
  EXPECT_EQ(env_.ReadFile("/d/f", 100).status().code(), StatusCode::kNotFound);
}

TEST_F(FaultInjectionEnvTest, UndoesAnUnsyncedRenameAndKeepsASyncedOne) {
  Write(&env_, "/d/f", "old", /*sync=*/true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  Write(&env_, "/d/f.tmp", "new", /*sync=*/true);
  ASSERT_TRUE(env_.RenameFile("/d/f.tmp", "/d/f").ok());
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "new");
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "old");
  EXPECT_FALSE(env_.FileExists("/d/f.tmp"));

  Write(&env_, "/d/f.tmp", "new", /*sync=*/true);
  ASSERT_TRUE(env_.RenameFile("/d/f.tmp", "/d/f").ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "new");
  EXPECT_EQ(env_.AllFiles(), std::vector<std::string>{"/d/f"});
}

TEST_F(FaultInjectionEnvTest, ARenamedButUnsyncedFileIsTornWhenItsDirectoryIsSynced) {
  // The bug a missing file fsync causes: the name is durable, the bytes are not.
  Write(&env_, "/d/f.tmp", "new", /*sync=*/false);
  ASSERT_TRUE(env_.RenameFile("/d/f.tmp", "/d/f").ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "");
}

TEST_F(FaultInjectionEnvTest, UndoesAnUnsyncedRemove) {
  Write(&env_, "/d/f", "kept", /*sync=*/true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(env_.RemoveFile("/d/f").ok());
  EXPECT_FALSE(env_.FileExists("/d/f"));
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "kept");
}

TEST_F(FaultInjectionEnvTest, ADirectoryNotSyncedIntoItsParentVanishesWithItsContents) {
  ASSERT_TRUE(env_.CreateDir("/d/sub").ok());
  Write(&env_, "/d/sub/f", "data", /*sync=*/true);
  ASSERT_TRUE(env_.SyncDir("/d/sub").ok());  // The file is durable in /d/sub, but /d/sub is not in /d.
  env_.SimulatePowerLoss();
  EXPECT_FALSE(env_.FileExists("/d/sub"));

  ASSERT_TRUE(env_.CreateDir("/d/sub").ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  Write(&env_, "/d/sub/f", "data", /*sync=*/true);
  ASSERT_TRUE(env_.SyncDir("/d/sub").ok());
  env_.SimulatePowerLoss();
  EXPECT_EQ(Text(env_.ReadFile("/d/sub/f", 100)), "data");
}

TEST_F(FaultInjectionEnvTest, CrashAfterFailsEveryLaterOperationUntilPowerComesBack) {
  auto file = env_.NewWritableFile("/d/f", 0644);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  uint64_t before = env_.mutating_operations();
  env_.CrashAfter(2);
  EXPECT_TRUE((*file)->Append(ByteView(std::string_view("ab"))).ok());
  EXPECT_TRUE((*file)->Sync().ok());
  EXPECT_FALSE(env_.crashed());
  Status s = (*file)->Append(ByteView(std::string_view("cd")));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("simulated power loss"), std::string::npos) << s.message();
  EXPECT_TRUE(env_.crashed());
  EXPECT_FALSE(env_.ReadFile("/d/f", 100).ok());  // Reads fail too.
  EXPECT_FALSE(env_.CreateDir("/e").ok());
  EXPECT_FALSE(env_.FileExists("/d/f"));
  EXPECT_EQ(env_.mutating_operations(), before + 4);
  env_.SimulatePowerLoss();
  EXPECT_FALSE(env_.crashed());
  EXPECT_EQ(Text(env_.ReadFile("/d/f", 100)), "ab");
  // A file opened before the power loss is dead.
  EXPECT_EQ((*file)->Append(ByteView(std::string_view("x"))).code(), StatusCode::kIoError);
}

TEST_F(FaultInjectionEnvTest, InjectedErrorsHitOnlyMatchingOperationsAfterTheSkippedOnes) {
  env_.InjectError(
      FileOp::kAppend, [](const std::string& path) { return path.find("/d/bad") == 0; },
      IoError("No space left on device"), /*skip=*/1);
  Write(&env_, "/d/good", "x", /*sync=*/false);
  Write(&env_, "/d/bad1", "x", /*sync=*/false);  // Skipped.
  auto file = env_.NewWritableFile("/d/bad2", 0644);
  ASSERT_TRUE(file.ok());
  Status s = (*file)->Append(ByteView(std::string_view("x")));
  EXPECT_EQ(s.message(), "No space left on device");
  EXPECT_EQ(Text(env_.ReadFile("/d/bad2", 100)), "");  // No effect.
  env_.ClearInjectedErrors();
  EXPECT_TRUE((*file)->Append(ByteView(std::string_view("x"))).ok());
}

TEST_F(FaultInjectionEnvTest, ObserverSeesEachSuccessfulOperation) {
  std::vector<std::string> seen;
  env_.SetObserver([&](FileOp op, const std::string& path) { seen.push_back(FileOpName(op) + (" " + path)); });
  Write(&env_, "/d/f", "x", /*sync=*/true);
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  EXPECT_FALSE(env_.RemoveFile("/d/missing").ok());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"create /d/f", "write /d/f", "fsync /d/f", "close /d/f", "fsync directory /d"}));
}

TEST_F(FaultInjectionEnvTest, ReportsErrorsAsThePosixEnvDoes) {
  Write(&env_, "/d/f", "12345", /*sync=*/false);
  EXPECT_EQ(env_.ReadFile("/d/f", 4).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(env_.ReadFile("/d", 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(env_.ReadFile("/d/none", 100).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.CreateDir("/d").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(env_.CreateDir("/d/f").code(), StatusCode::kIoError);
  EXPECT_EQ(env_.CreateDir("/none/sub").code(), StatusCode::kIoError);
  EXPECT_EQ(env_.NewWritableFile("/none/f", 0644).status().code(), StatusCode::kIoError);
  EXPECT_EQ(env_.RemoveFile("/d/none").code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.RenameFile("/d/none", "/d/g").code(), StatusCode::kIoError);
  EXPECT_EQ(env_.ReadFile("relative", 100).status().code(), StatusCode::kInvalidArgument);
  auto names = env_.ListDir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
  EXPECT_TRUE(env_.FileExists("/"));
  EXPECT_TRUE(env_.FileExists("/d/./f"));
}

}  // namespace
}  // namespace cairn::util
