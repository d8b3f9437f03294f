// CheckpointStore (proof/checkpoint_store.h): content-addressed, durable
// once Put returns, and all or nothing on read.

#include "proof/checkpoint_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proof/model_state.h"
#include "support/temp_dir.h"
#include "synthetic_run.h"
#include "util/fault_injection_env.h"
#include "util/file.h"

namespace cairn::proof {
namespace {

using util::FaultInjectionEnv;
using util::FileOp;

TEST(CheckpointStore, StoresUnderTheHashAndReadsBack) {
  cairn::testing::TempDir dir;
  auto store = CheckpointStore::Open(dir / "checkpoints");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Bytes blob = testing::MakeRun(1, 1, 16).checkpoints[0];
  Hash256 hash = CheckpointHash(blob);
  EXPECT_FALSE(store->Has(hash));
  EXPECT_EQ(store->Get(hash).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store->Put(hash, blob).ok());
  ASSERT_TRUE(store->Put(hash, blob).ok());  // Idempotent.
  EXPECT_TRUE(store->Has(hash));
  EXPECT_EQ(store->Get(hash).value(), blob);
  std::string hex = hash.ToHex();
  EXPECT_EQ(store->PathOf(hash), dir / "checkpoints/" + hex.substr(0, 2) + "/" + hex.substr(2));
  EXPECT_TRUE(util::FileExists(store->PathOf(hash)));
}

TEST(CheckpointStore, ANewShardDirectorySurvivesAPowerLossOncePutReturns) {
  FaultInjectionEnv env;
  auto store = CheckpointStore::Open(&env, "/node/checkpoints");
  ASSERT_TRUE(store.ok());
  auto run = testing::MakeRun(2, 3, 16);
  std::vector<std::pair<Hash256, ByteView>> blobs;
  for (const Bytes& b : run.checkpoints) blobs.emplace_back(CheckpointHash(b), ByteView(b));
  ASSERT_TRUE(store->Put(blobs[0].first, blobs[0].second).ok());
  ASSERT_TRUE(store->PutAll({blobs[1], blobs[2]}).ok());
  env.SimulatePowerLoss();
  for (const auto& [hash, bytes] : blobs) EXPECT_TRUE(store->Get(hash).ok()) << hash.ToHex();
}

TEST(CheckpointStore, FsyncsTheStoreDirectoryOncePerShard) {
  FaultInjectionEnv env;
  auto store = CheckpointStore::Open(&env, "/node/checkpoints");
  ASSERT_TRUE(store.ok());
  int store_syncs = 0;
  env.SetObserver([&](FileOp op, const std::string& path) {
    if (op == FileOp::kSyncDir && path == "/node/checkpoints") store_syncs++;
  });
  // Blobs with the same first hash byte share a shard: find two.
  std::vector<Bytes> same_shard;
  for (uint64_t seed = 0; same_shard.size() < 2; ++seed) {
    Bytes b = testing::MakeRun(seed, 1, 8).checkpoints[0];
    if (same_shard.empty() || CheckpointHash(b).bytes[0] == CheckpointHash(same_shard[0]).bytes[0]) {
      same_shard.push_back(std::move(b));
    }
  }
  ASSERT_TRUE(store->Put(CheckpointHash(same_shard[0]), same_shard[0]).ok());
  ASSERT_TRUE(store->Put(CheckpointHash(same_shard[1]), same_shard[1]).ok());
  EXPECT_EQ(store_syncs, 1);
  env.SetObserver(nullptr);
}

TEST(CheckpointStore, MakesAShardLeftUnsyncedByACrashedProcessDurable) {
  FaultInjectionEnv env;
  ASSERT_TRUE(util::MakeDirsDurable(&env, "/node/checkpoints").ok());
  Bytes blob = testing::MakeRun(3, 1, 8).checkpoints[0];
  Hash256 hash = CheckpointHash(blob);
  // A process that crashed after mkdir, before fsyncing the store directory.
  ASSERT_TRUE(env.CreateDir("/node/checkpoints/" + hash.ToHex().substr(0, 2)).ok());
  auto store = CheckpointStore::Open(&env, "/node/checkpoints");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->Put(hash, blob).ok());
  env.SimulatePowerLoss();
  EXPECT_TRUE(store->Get(hash).ok());
}

// All or nothing at the byte level: a torn or flipped checkpoint file is
// refused whole (Corruption), never partly returned; and no strict prefix of
// a checkpoint decodes, so a restore (train/snapshot.cpp RestoreSnapshot,
// which decodes and checks everything before copying anything) cannot apply
// part of one.
TEST(CheckpointStore, RefusesATornOrFlippedFileWholeAndReplacesIt) {
  FaultInjectionEnv env;
  auto store = CheckpointStore::Open(&env, "/node/checkpoints");
  ASSERT_TRUE(store.ok());
  Bytes blob = testing::MakeRun(4, 1, 64).checkpoints[0];
  Hash256 hash = CheckpointHash(blob);
  ASSERT_TRUE(store->Put(hash, blob).ok());
  const std::string path = store->PathOf(hash);
  for (size_t length = 0; length < blob.size(); ++length) {
    ByteView prefix(blob.data(), length);
    ASSERT_TRUE(util::WriteFileAtomic(&env, path, prefix).ok());
    auto got = store->Get(hash);
    EXPECT_EQ(got.status().code(), StatusCode::kCorruption) << "torn at " << length;
    EXPECT_FALSE(DecodeCheckpoint(prefix).ok()) << "a prefix of " << length << " bytes decodes";
  }
  Bytes flipped = blob;
  flipped[flipped.size() / 2] ^= 0x01;
  ASSERT_TRUE(util::WriteFileAtomic(&env, path, flipped).ok());
  EXPECT_EQ(store->Get(hash).status().code(), StatusCode::kCorruption);
  ASSERT_TRUE(store->PutAll({{hash, ByteView(blob)}}).ok());  // A damaged copy is replaced.
  EXPECT_EQ(store->Get(hash).value(), blob);
}

}  // namespace
}  // namespace cairn::proof
