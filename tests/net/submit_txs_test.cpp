// SubmitTxs over a real socket: a batch is admitted in order as if each
// transaction had been sent alone, one bad transaction (replayed, badly
// signed, oversized, malformed) does not fail the others, the batch bounds
// hold, and the client splits long batches and falls back to SubmitTx with a
// host that does not serve SubmitTxs.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>

#include "cairn/v1/ledger.grpc.pb.h"
#include "crypto/keys.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/clients.h"
#include "net/grpc_util.h"
#include "net/ledger_service.h"
#include "net/rpc_server.h"
#include "node/blob_store.h"
#include "node/height_watch.h"
#include "store/memory_store.h"
#include "support/temp_dir.h"

namespace cairn::net {
namespace {

namespace pb = ::cairn::v1;

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

std::string Encoded(const ledger::SignedTx& tx) { return ToField(ByteView(ledger::EncodeTx(tx))); }

// A ledger host (ledger, sequencer, the node's RpcServer) on a loopback port.
class SubmitTxsTest : public ::testing::Test {
 protected:
  SubmitTxsTest() {
    genesis_.chain_id = "batch-test";
    genesis_.sequencer = sequencer_key_.public_key();
    genesis_.referee = Key(2).public_key();
    genesis_.allocations.push_back({sender_.public_key(), 1'000'000, 0});
    ledger_ = ledger::Ledger::Open(&kv_, &genesis_, {store::SyncPolicy::kNoSync, 0}).value();
    sequencer_ = std::make_unique<ledger::Sequencer>(ledger_.get(), &sequencer_key_);
    RpcServices services;
    services.ledger = ledger_.get();
    services.sequencer = sequencer_.get();
    services.heights = &heights_;
    services.blobs = &blobs_;
    services.on_submit = [this](const Status&) { submitted_++; };
    server_ = RpcServer::Start({"127.0.0.1:0", 8}, services).value();
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
    stub_ = pb::Ledger::NewStub(MakeChannel(endpoint_));
  }
  ~SubmitTxsTest() override {
    heights_.Shutdown();
    server_->Shutdown();
  }

  ledger::SignedTx Stake(uint64_t nonce, uint64_t amount = 1) {
    return ledger::SignTx(ledger::TxBody{genesis_.chain_id, sender_.public_key(), nonce, ledger::StakeOp{amount}},
                          sender_);
  }

  grpc::Status Call(const std::vector<std::string>& txs, pb::SubmitTxsResponse* resp) {
    pb::SubmitTxsRequest req;
    for (const auto& tx : txs) req.add_txs(tx);
    auto ctx = ContextWithDeadline(kUnaryDeadline);
    return stub_->SubmitTxs(ctx.get(), req, resp);
  }

  cairn::testing::TempDir dir_;
  ledger::Genesis genesis_;
  crypto::KeyPair sequencer_key_ = Key(1);
  crypto::KeyPair sender_ = Key(3);
  store::MemoryStore kv_{ledger::LedgerColumnFamilies()};
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::Sequencer> sequencer_;
  node::HeightWatch heights_;
  node::BlobStore blobs_ = node::BlobStore::Open(dir_.path() + "/blobs").value();
  std::unique_ptr<RpcServer> server_;
  std::string endpoint_;
  std::unique_ptr<pb::Ledger::Stub> stub_;
  std::atomic<int> submitted_{0};
};

TEST_F(SubmitTxsTest, OneBadTransactionDoesNotFailTheBatch) {
  ledger::SignedTx first = Stake(1);
  ledger::SignedTx badly_signed = Stake(2, 5);
  badly_signed.signature.bytes[0] ^= 1;
  std::string oversized(ledger::kTxBytesMax + 1, '\x01');
  std::string malformed = "not a transaction";
  ledger::SignedTx second = Stake(2, 7);
  pb::SubmitTxsResponse resp;
  ASSERT_TRUE(Call({Encoded(first), Encoded(first), Encoded(badly_signed), oversized, malformed, Encoded(second)}, &resp)
                  .ok());
  ASSERT_EQ(resp.results_size(), 6);
  using G = grpc::StatusCode;
  EXPECT_EQ(resp.results(0).code(), 0) << resp.results(0).error();
  EXPECT_EQ(resp.results(1).code(), G::ALREADY_EXISTS) << resp.results(1).error();
  EXPECT_NE(resp.results(1).error().find("already used"), std::string::npos) << resp.results(1).error();
  EXPECT_EQ(resp.results(2).code(), G::PERMISSION_DENIED) << resp.results(2).error();
  EXPECT_NE(resp.results(2).error().find("signature"), std::string::npos) << resp.results(2).error();
  EXPECT_EQ(resp.results(3).code(), G::INVALID_ARGUMENT) << resp.results(3).error();
  EXPECT_NE(resp.results(3).error().find("transaction 3 of the batch"), std::string::npos) << resp.results(3).error();
  EXPECT_EQ(resp.results(4).code(), G::INVALID_ARGUMENT) << resp.results(4).error();
  EXPECT_EQ(resp.results(5).code(), 0) << resp.results(5).error();
  // Admitted ones carry their id and the sender's next nonce after the batch.
  EXPECT_EQ(resp.results(0).tx_id(), ToField(ledger::TxId(first.body)));
  EXPECT_EQ(resp.results(5).tx_id(), ToField(ledger::TxId(second.body)));
  EXPECT_EQ(resp.results(0).next_nonce(), 3u);
  EXPECT_EQ(resp.results(5).next_nonce(), 3u);
  EXPECT_TRUE(resp.results(1).tx_id().empty());
  EXPECT_EQ(sequencer_->mempool_size(), 2u);
  EXPECT_EQ(submitted_.load(), 6);  // The hook sees every transaction's outcome.
  // Both admitted transactions reach a block, in order.
  auto block = sequencer_->ProduceBlock(1000).value();
  ASSERT_TRUE(block.has_value());
  ASSERT_EQ(block->block.txs.size(), 2u);
  EXPECT_EQ(block->block.txs[0], first);
  EXPECT_EQ(block->block.txs[1], second);
}

TEST_F(SubmitTxsTest, TheClientReportsEachTransactionLikeSubmitTx) {
  NodeQueries q(endpoint_);
  ledger::SignedTx gap = Stake(5);  // Nonce 3 and 4 are never sent.
  std::vector<Status> results = q.SubmitTxs({Stake(1), Stake(1), gap, Stake(2)});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_EQ(results[1].code(), StatusCode::kAlreadyExists) << results[1].ToString();
  EXPECT_EQ(results[2].code(), StatusCode::kFailedPrecondition) << results[2].ToString();
  EXPECT_NE(results[2].message().find("out of order"), std::string::npos) << results[2].ToString();
  EXPECT_NE(results[2].message().find("stake"), std::string::npos) << "names the operation: " << results[2].ToString();
  EXPECT_TRUE(results[3].ok()) << results[3].ToString();
  // The same refusal through SubmitTx says the same (with the next nonce the batch left).
  Status alone = q.SubmitTx(gap);
  EXPECT_EQ(alone.code(), results[2].code());
  EXPECT_EQ(alone.message().substr(0, alone.message().find(';')),
            results[2].message().substr(0, results[2].message().find(';')));
}

TEST_F(SubmitTxsTest, ABatchOverTheCountBoundIsRefusedWhole) {
  std::vector<std::string> txs;
  for (size_t i = 0; i < kSubmitTxsCountMax + 1; ++i) txs.push_back(Encoded(Stake(i + 1)));
  pb::SubmitTxsResponse resp;
  grpc::Status s = Call(txs, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("split the batch"), std::string::npos) << s.error_message();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);
  // At the bound it is served.
  txs.pop_back();
  ASSERT_TRUE(Call(txs, &resp).ok());
  ASSERT_EQ(resp.results_size(), static_cast<int>(kSubmitTxsCountMax));
  for (const auto& r : resp.results()) EXPECT_EQ(r.code(), 0) << r.error();
  EXPECT_EQ(sequencer_->mempool_size(), kSubmitTxsCountMax);
}

TEST_F(SubmitTxsTest, ABatchOverTheByteBoundIsRefusedWhole) {
  // Each piece alone is only an oversized transaction; together they are over the call's bound.
  std::vector<std::string> txs(kSubmitTxsBytesMax / (ledger::kTxBytesMax + 1) + 1,
                               std::string(ledger::kTxBytesMax + 1, '\x02'));
  txs.insert(txs.begin(), Encoded(Stake(1)));
  pb::SubmitTxsResponse resp;
  grpc::Status s = Call(txs, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("bytes"), std::string::npos) << s.error_message();
  EXPECT_EQ(sequencer_->mempool_size(), 0u);
}

TEST_F(SubmitTxsTest, TheClientSplitsALongBatch) {
  GrpcLedgerClient client(endpoint_);
  std::vector<ledger::SignedTx> txs;
  for (size_t i = 0; i < 2 * kSubmitTxsCountMax + 3; ++i) txs.push_back(Stake(i + 1));
  std::vector<Status> results = client.SubmitTxs(txs);
  ASSERT_EQ(results.size(), txs.size());
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sequencer_->mempool_size(), txs.size());
  EXPECT_EQ(client.NextNonce(sender_.public_key()).value(), txs.size() + 1);
}

TEST_F(SubmitTxsTest, AnEmptyBatchIsAnswered) {
  pb::SubmitTxsResponse resp;
  ASSERT_TRUE(Call({}, &resp).ok());
  EXPECT_EQ(resp.results_size(), 0);
  GrpcLedgerClient client(endpoint_);
  EXPECT_TRUE(client.SubmitTxs({}).empty());
}

// A follower answers UNAVAILABLE for the whole call, naming the host.
TEST(SubmitTxsFollowerTest, AFollowerNamesTheLedgerHost) {
  cairn::testing::TempDir dir;
  ledger::Genesis genesis;
  genesis.chain_id = "batch-test";
  genesis.sequencer = Key(1).public_key();
  genesis.referee = Key(2).public_key();
  store::MemoryStore kv{ledger::LedgerColumnFamilies()};
  auto ledger = ledger::Ledger::Open(&kv, &genesis, {store::SyncPolicy::kNoSync, 0}).value();
  node::HeightWatch heights;
  node::BlobStore blobs = node::BlobStore::Open(dir.path() + "/blobs").value();
  RpcServices services;
  services.ledger = ledger.get();
  services.heights = &heights;
  services.blobs = &blobs;
  services.ledger_host = "10.0.0.1:7000";
  auto server = RpcServer::Start({"127.0.0.1:0", 4}, services).value();
  GrpcLedgerClient client("127.0.0.1:" + std::to_string(server->port()));
  crypto::KeyPair k = Key(3);
  std::vector<Status> results =
      client.SubmitTxs({ledger::SignTx(ledger::TxBody{"batch-test", k.public_key(), 1, ledger::StakeOp{1}}, k),
                        ledger::SignTx(ledger::TxBody{"batch-test", k.public_key(), 2, ledger::StakeOp{1}}, k)});
  ASSERT_EQ(results.size(), 2u);
  for (const Status& s : results) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    EXPECT_NE(s.message().find("10.0.0.1:7000"), std::string::npos) << s.ToString();
  }
  heights.Shutdown();
  server->Shutdown();
}

// A host that predates SubmitTxs: the client sends one SubmitTx each.
class OldLedger final : public pb::Ledger::Service {
 public:
  grpc::Status SubmitTx(grpc::ServerContext*, const pb::SubmitTxRequest* req, pb::SubmitTxResponse*) override {
    calls++;
    if (req->tx() == last) return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "replayed");
    last = req->tx();
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
  std::string last;
};

TEST(SubmitTxsFallbackTest, AHostWithoutSubmitTxsGetsOneCallPerTransaction) {
  OldLedger old;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  ConfigureServer(&builder);
  builder.RegisterService(&old);
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  crypto::KeyPair k = Key(3);
  ledger::SignedTx tx = ledger::SignTx(ledger::TxBody{"batch-test", k.public_key(), 1, ledger::StakeOp{1}}, k);
  GrpcLedgerClient client("127.0.0.1:" + std::to_string(port));
  std::vector<Status> results = client.SubmitTxs({tx, tx});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_EQ(results[1].code(), StatusCode::kAlreadyExists) << results[1].ToString();
  EXPECT_EQ(old.calls.load(), 2);
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace cairn::net
