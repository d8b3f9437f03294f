// Blob transfer over gRPC: what FetchBlob stores is always the blob asked
// for, chunks are bounded and in order, and a transfer cut off part way
// resumes from the bytes already received, at the same peer or another.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <mutex>
#include <random>

#include "cairn/v1/blob.grpc.pb.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/clients.h"
#include "net/grpc_util.h"
#include "net/rpc_server.h"
#include "node/blob_store.h"
#include "node/height_watch.h"
#include "store/memory_store.h"
#include "support/temp_dir.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// A Blobs peer serving one blob, that misbehaves as told.
class FakePeer final : public pb::Blobs::Service {
 public:
  enum class Mode { kHonest, kStopAfterTwoChunks, kOversizeChunk, kSkipsBytes, kWrongBytes, kChangesSize };

  FakePeer(Bytes blob, Mode mode) : blob_(std::move(blob)), mode_(mode) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    ConfigureServer(&builder);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakePeer() override { server_->Shutdown(std::chrono::system_clock::now()); }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<uint64_t> offsets() {
    std::lock_guard<std::mutex> lock(mu_);
    return offsets_;
  }

  grpc::Status Get(grpc::ServerContext*, const pb::GetBlobRequest* req, grpc::ServerWriter<pb::BlobChunk>* w) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      offsets_.push_back(req->offset());
    }
    const size_t chunk_bytes = node::kBlobChunkBytesMax;
    Bytes served = blob_;
    if (mode_ == Mode::kWrongBytes) served[served.size() / 2] ^= 1;
    uint64_t offset = req->offset();
    for (int sent = 0; offset < served.size(); ++sent) {
      if (mode_ == Mode::kStopAfterTwoChunks && sent == 2) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away");
      }
      size_t n = std::min<size_t>(chunk_bytes, served.size() - offset);
      if (mode_ == Mode::kOversizeChunk) n = std::min<size_t>(chunk_bytes + 1, served.size() - offset);
      pb::BlobChunk msg;
      msg.set_offset(mode_ == Mode::kSkipsBytes && sent == 1 ? offset + 1 : offset);
      msg.set_size(mode_ == Mode::kChangesSize && sent == 1 ? served.size() + 1 : served.size());
      msg.set_data(reinterpret_cast<const char*>(served.data() + offset), n);
      if (!w->Write(msg)) return grpc::Status::CANCELLED;
      offset += n;
    }
    return grpc::Status::OK;
  }

 private:
  Bytes blob_;
  Mode mode_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::vector<uint64_t> offsets_;  // GUARDED_BY(mu_)
};

// 3.5 chunks: every transfer crosses chunk boundaries and ends with a short one.
const size_t kBlobBytes = node::kBlobChunkBytesMax * 7 / 2;

class BlobTransferTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  Bytes blob_ = RandomBytes(kBlobBytes, 1);
  Hash256 hash_ = crypto::Blake2b256(blob_);
  node::BlobStore mine_ = node::BlobStore::Open(dir_.path() + "/mine").value();
  GrpcPeerClient peers_;
};

TEST_F(BlobTransferTest, AnHonestPeerDeliversTheBlob) {
  FakePeer peer(blob_, FakePeer::Mode::kHonest);
  Status s = peers_.FetchBlob(peer.endpoint(), hash_, kBlobBytes, &mine_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(mine_.ReadAll(hash_, kBlobBytes).value(), blob_);
  EXPECT_EQ(peer.offsets(), std::vector<uint64_t>{0});
  // Already here: no second transfer.
  ASSERT_TRUE(peers_.FetchBlob(peer.endpoint(), hash_, kBlobBytes, &mine_).ok());
  EXPECT_EQ(peer.offsets().size(), 1u);
}

TEST_F(BlobTransferTest, APeerThatGoesAwayMidStreamIsResumedElsewhere) {
  FakePeer flaky(blob_, FakePeer::Mode::kStopAfterTwoChunks);
  Status s = peers_.FetchBlob(flaky.endpoint(), hash_, kBlobBytes, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_FALSE(mine_.Stat(hash_));
  EXPECT_EQ(mine_.PartialSize(hash_), 2 * node::kBlobChunkBytesMax);  // What arrived is kept.
  FakePeer honest(blob_, FakePeer::Mode::kHonest);
  s = peers_.FetchBlob(honest.endpoint(), hash_, kBlobBytes, &mine_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(honest.offsets(), std::vector<uint64_t>{2 * node::kBlobChunkBytesMax});  // Resumed, not restarted.
  EXPECT_EQ(mine_.ReadAll(hash_, kBlobBytes).value(), blob_);
}

TEST_F(BlobTransferTest, WrongBytesAreNeverStored) {
  FakePeer liar(blob_, FakePeer::Mode::kWrongBytes);
  Status s = peers_.FetchBlob(liar.endpoint(), hash_, kBlobBytes, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_FALSE(mine_.Stat(hash_));
  EXPECT_EQ(mine_.PartialSize(hash_), 0u);  // Discarded: the next try starts over.
  FakePeer honest(blob_, FakePeer::Mode::kHonest);
  ASSERT_TRUE(peers_.FetchBlob(honest.endpoint(), hash_, kBlobBytes, &mine_).ok());
  EXPECT_EQ(honest.offsets(), std::vector<uint64_t>{0});
}

TEST_F(BlobTransferTest, AChunkOverTheBoundIsRefused) {
  FakePeer peer(blob_, FakePeer::Mode::kOversizeChunk);
  Status s = peers_.FetchBlob(peer.endpoint(), hash_, kBlobBytes, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(mine_.Stat(hash_));
  EXPECT_EQ(mine_.PartialSize(hash_), 0u);  // Refused before a byte of it was written.
}

TEST_F(BlobTransferTest, ChunksOutOfOrderOrChangingTheSizeAreRefused) {
  for (auto mode : {FakePeer::Mode::kSkipsBytes, FakePeer::Mode::kChangesSize}) {
    node::BlobStore store = node::BlobStore::Open(dir_.path() + "/mode" + std::to_string(static_cast<int>(mode))).value();
    FakePeer peer(blob_, mode);
    Status s = peers_.FetchBlob(peer.endpoint(), hash_, kBlobBytes, &store);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_FALSE(store.Stat(hash_));
    EXPECT_EQ(store.PartialSize(hash_), node::kBlobChunkBytesMax);  // Only the good first chunk.
  }
}

TEST_F(BlobTransferTest, ABlobLargerThanExpectedIsRefused) {
  FakePeer peer(blob_, FakePeer::Mode::kHonest);
  Status s = peers_.FetchBlob(peer.endpoint(), hash_, kBlobBytes - 1, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(mine_.Stat(hash_));
}

TEST_F(BlobTransferTest, AMissingPeerIsUnavailable) {
  Status s = peers_.FetchBlob("127.0.0.1:1", hash_, kBlobBytes, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

// The node's own services over a real BlobStore.
class NodeBlobsTest : public BlobTransferTest {
 protected:
  NodeBlobsTest() {
    genesis_.chain_id = "blob-test";
    genesis_.sequencer = sequencer_key_.public_key();
    genesis_.referee = Key(2).public_key();
    ledger_ = ledger::Ledger::Open(&kv_, &genesis_, {store::SyncPolicy::kNoSync, 0}).value();
    RpcServices services;
    services.ledger = ledger_.get();
    services.heights = &heights_;
    services.blobs = &theirs_;
    services.blob_options.chain_id = genesis_.chain_id;
    services.blob_options.may_upload = [this](const crypto::PublicKey& who) { return who == uploader_.public_key(); };
    server_ = RpcServer::Start({"127.0.0.1:0", 8}, services).value();
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  ~NodeBlobsTest() override {
    heights_.Shutdown();
    server_->Shutdown();
  }

  node::BlobStore theirs_ = node::BlobStore::Open(dir_.path() + "/theirs").value();
  ledger::Genesis genesis_;
  crypto::KeyPair sequencer_key_ = Key(1);
  crypto::KeyPair uploader_ = Key(3);
  store::MemoryStore kv_{ledger::LedgerColumnFamilies()};
  std::unique_ptr<ledger::Ledger> ledger_;
  node::HeightWatch heights_;
  std::unique_ptr<RpcServer> server_;
  std::string endpoint_;
};

TEST_F(NodeBlobsTest, AnUploadIsStoredAndServedBack) {
  NodeQueries q(endpoint_);
  Status s = q.PutBlob(blob_, genesis_.chain_id, uploader_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(theirs_.ReadAll(hash_, kBlobBytes).value(), blob_);
  EXPECT_TRUE(q.PutBlob(blob_, genesis_.chain_id, uploader_).ok());  // Already there.
  EXPECT_EQ(q.GetBlob(hash_, kBlobBytes).value(), blob_);
  ASSERT_TRUE(peers_.FetchBlob(endpoint_, hash_, kBlobBytes, &mine_).ok());
  EXPECT_EQ(mine_.ReadAll(hash_, kBlobBytes).value(), blob_);
}

TEST_F(NodeBlobsTest, AnUploadFromAnAccountWithoutFundsIsRefused) {
  NodeQueries q(endpoint_);
  Status s = q.PutBlob(blob_, genesis_.chain_id, Key(4));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(theirs_.Stat(hash_));
}

TEST_F(NodeBlobsTest, AFetchResumesFromItsPartialFileAtTheNode) {
  ASSERT_TRUE(theirs_.Put(blob_).ok());
  {
    auto partial = mine_.OpenPartial(hash_).value();
    ASSERT_TRUE(partial.Append(ByteView(blob_.data(), kBlobBytes / 3)).ok());
  }
  Status s = peers_.FetchBlob(endpoint_, hash_, kBlobBytes, &mine_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(mine_.ReadAll(hash_, kBlobBytes).value(), blob_);
}

TEST_F(NodeBlobsTest, ABlobTheNodeLacksIsNotFound) {
  Status s = peers_.FetchBlob(endpoint_, hash_, kBlobBytes, &mine_);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_EQ(NodeQueries(endpoint_).GetBlob(hash_, kBlobBytes).status().code(), StatusCode::kNotFound);
}

TEST_F(NodeBlobsTest, AnEmptyBlobTravels) {
  const Hash256 empty = theirs_.Put(ByteView()).value();
  ASSERT_TRUE(peers_.FetchBlob(endpoint_, empty, 0, &mine_).ok());
  EXPECT_EQ(mine_.Stat(empty), 0u);
}

}  // namespace
}  // namespace cairn::net
