// Canonical encodings: what is signed and hashed must round-trip exactly,
// and anything else must be refused.
#include <gtest/gtest.h>

#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/state.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

std::vector<Operation> EveryOperation() {
  Hash256 h;
  h.bytes.fill(0xab);
  return {TransferOp{TestKey(9).public_key(), 5}, FaucetOp{7}, StakeOp{8}, UnstakeOp{9},
          PostJobOp{h, 1, 2, 3, 4, h}, ClaimJobOp{h, h}, CommitCertificateOp{h, h, h, h, 5},
          VerdictOp{h, true, h}, RulingOp{h, true, 1, h, h, "aten::addmm"}, SettleOp{h},
          AnnounceOp{"127.0.0.1:7000"}, CancelJobOp{h},
          DisputeOpenOp{h, h, 1, 8, 16, h, {h, h}, h, {h}, h},
          PinpointMoveOp{h, 3, 17, h, 40, {h, h, h}, Bytes{1, 2, 3}}};
}

SignedTx Signed(Operation op) {
  crypto::KeyPair key = TestKey(3);
  return SignTx(TxBody{"chain", key.public_key(), 42, std::move(op)}, key);
}

TEST(TxCodec, EveryOperationRoundTrips) {
  for (const Operation& op : EveryOperation()) {
    SignedTx tx = Signed(op);
    Bytes encoded = EncodeTx(tx);
    auto decoded = DecodeTx(encoded);
    ASSERT_TRUE(decoded.ok()) << OperationName(op) << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, tx) << OperationName(op);
    EXPECT_TRUE(VerifyTxSignature(*decoded));
    EXPECT_EQ(EncodeTx(*decoded), encoded);
  }
}

TEST(TxCodec, TruncationsAndTrailingBytesAreRefused) {
  Bytes encoded = EncodeTx(Signed(TransferOp{TestKey(9).public_key(), 5}));
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeTx(ByteView(encoded.data(), n)).ok()) << "prefix of " << n << " bytes";
  }
  encoded.push_back(0);
  auto r = DecodeTx(encoded);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST(TxCodec, UnknownOperationAndVersionAreRefused) {
  Bytes encoded = EncodeTx(Signed(FaucetOp{1}));
  // Layout: version(1) chain_id(4+5) sender(32) nonce(8) tag(1) ...
  Bytes bad_tag = encoded;
  bad_tag[1 + 4 + 5 + 32 + 8] = 99;
  EXPECT_NE(DecodeTx(bad_tag).status().message().find("unknown operation tag 99"), std::string::npos);
  Bytes bad_version = encoded;
  bad_version[0] = 2;
  EXPECT_FALSE(DecodeTx(bad_version).ok());
}

TEST(TxCodec, OversizedInputIsRefusedBeforeParsing) {
  Bytes huge(kTxBytesMax + 1, 0);
  EXPECT_EQ(DecodeTx(huge).status().code(), StatusCode::kInvalidArgument);
}

TEST(TxCodec, SignatureBindsChainSenderNonceAndOperation) {
  SignedTx tx = Signed(StakeOp{5});
  SignedTx other_chain = tx;
  other_chain.body.chain_id = "chain2";
  EXPECT_FALSE(VerifyTxSignature(other_chain));
  SignedTx other_nonce = tx;
  other_nonce.body.nonce++;
  EXPECT_FALSE(VerifyTxSignature(other_nonce));
  SignedTx other_op = tx;
  other_op.body.op = UnstakeOp{5};  // Same payload bytes, different tag.
  EXPECT_FALSE(VerifyTxSignature(other_op));
}

TEST(BlockCodec, RoundTripsAndChecksIntegrity) {
  crypto::KeyPair key = TestKey(1);
  Block b;
  b.header.chain_id = "chain";
  b.header.height = 3;
  b.header.proposer = key.public_key();
  for (const Operation& op : EveryOperation()) b.txs.push_back(Signed(op));
  b.header.tx_count = static_cast<uint32_t>(b.txs.size());
  b.header.tx_root = TxRoot(b.txs);
  b.signature = key.Sign(ByteView(BlockHash(b.header).bytes));
  Bytes encoded = EncodeBlock(b);
  auto decoded = DecodeBlock(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeBlock(*decoded), encoded);
  EXPECT_TRUE(CheckBlockIntegrity(*decoded).ok());
  decoded->txs.pop_back();
  EXPECT_EQ(CheckBlockIntegrity(*decoded).code(), StatusCode::kCorruption);
}

TEST(GenesisCodec, RoundTripsAndHashIsStable) {
  Genesis g;
  g.chain_id = "x";
  g.sequencer = TestKey(1).public_key();
  g.referee = TestKey(2).public_key();
  g.allocations.push_back({TestKey(3).public_key(), 10, 20});
  auto decoded = DecodeGenesis(EncodeGenesis(g));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, g);
  Genesis g2 = g;
  g2.params.jackpot_tax_bps++;
  EXPECT_NE(GenesisHash(g), GenesisHash(g2));
}

TEST(StateCodec, JobRecordRoundTripsWithVotes) {
  Job j;
  j.job_id.bytes.fill(1);
  j.status = JobStatus::kDisputed;
  j.votes.push_back({TestKey(4).public_key(), false, 100, Hash256{}});
  auto decoded = DecodeJob(EncodeJob(j));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, j);
  std::string bad = EncodeJob(j);
  bad[32 + 32 + 8 * 5] = 42;  // Status byte.
  EXPECT_FALSE(DecodeJob(bad).ok());
}

}  // namespace
}  // namespace cairn::ledger::testing
