// A one-process ledger for tests: genesis with named parties, an in-memory
// store (MemoryStore, a fake), a Ledger and its Sequencer.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "ledger/dispute.h"
#include "ledger/forced_error.h"
#include "ledger/sequencer.h"
#include "store/memory_store.h"

namespace cairn::ledger::testing {

// Deterministic keys so failures reproduce.
inline crypto::KeyPair TestKey(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

class LedgerFixture : public ::testing::Test {
 protected:
  enum Party : uint8_t { kSequencer = 1, kReferee, kSubmitter, kSolver, kVerifier, kVerifier2, kOutsider };

  void SetUp() override {
    for (uint8_t p = kSequencer; p <= kOutsider; ++p) keys_.emplace(p, TestKey(p));
    genesis_.chain_id = "cairn-test";
    genesis_.sequencer = Id(kSequencer);
    genesis_.referee = Id(kReferee);
    genesis_.params.unbonding_delay_blocks = 5;
    genesis_.params.challenge_window_blocks = 3;
    genesis_.params.faucet_amount_max = 1000;
    genesis_.params.verifier_stake_min = 100;
    genesis_.params.jackpot_tax_bps = 100;
    genesis_.params.verifier_share_bps = 1000;
    genesis_.params.challenger_reward_bps = 5000;
    // Forced errors only where a test asks for them (ForcedErrorTest).
    genesis_.params.forced_error_bps = 0;
    genesis_.params.reveal_window_blocks = 4;
    genesis_.allocations = {{Id(kSubmitter), 100000, 0},
                            {Id(kSolver), 10000, 5000},
                            {Id(kVerifier), 10000, 1000},
                            {Id(kVerifier2), 10000, 1000}};
    Reopen();
  }

  void Reopen() {
    sequencer_.reset();
    ledger_.reset();
    if (!kv_) kv_ = std::make_unique<store::MemoryStore>(LedgerColumnFamilies());
    auto opened = Ledger::Open(kv_.get(), &genesis_, LedgerOptions{store::SyncPolicy::kNoSync, 2});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ledger_ = std::move(opened).value();
    sequencer_ = std::make_unique<Sequencer>(ledger_.get(), &keys_.at(kSequencer));
  }

  AccountId Id(uint8_t party) const { return keys_.at(party).public_key(); }

  SignedTx Make(uint8_t party, Operation op, std::optional<uint64_t> nonce = std::nullopt) {
    TxBody body;
    body.chain_id = genesis_.chain_id;
    body.sender = Id(party);
    body.nonce = nonce ? *nonce : ledger_->NextNonce(body.sender).value();
    body.op = std::move(op);
    return SignTx(std::move(body), keys_.at(party));
  }

  Status Submit(uint8_t party, Operation op) { return sequencer_->Submit(Make(party, std::move(op))); }

  // Seals the mempool into a block; a block with only a faucet drip if empty,
  // so that tests can advance the height.
  uint64_t Seal() {
    if (sequencer_->mempool_size() == 0) {
      EXPECT_TRUE(Submit(kOutsider, FaucetOp{1}).ok());
    }
    auto produced = sequencer_->ProduceBlock(/*time_ms=*/1000 + ledger_->head().height);
    EXPECT_TRUE(produced.ok()) << produced.status().ToString();
    EXPECT_TRUE(produced->has_value());
    return ledger_->head().height;
  }

  void SealUntil(uint64_t height) {
    while (ledger_->head().height < height) Seal();
  }

  Account AccountOf(uint8_t party) { return ledger_->GetAccount(Id(party)).value(); }
  Job JobOf(const Hash256& id) { return ledger_->GetJob(id).value().value(); }

  static Hash256 JobId(uint8_t n) {
    Hash256 h;
    h.bytes.fill(n);
    return h;
  }

  // The committed checkpoints of every test job: kCheckpoints hashes, one
  // segment of kSegmentSteps steps between neighbours.
  static constexpr uint64_t kCheckpoints = 3;
  static constexpr uint64_t kSegmentSteps = 8;
  static Hash256 CheckpointHash(uint64_t i) { return crypto::TaggedHash("test/checkpoint", ByteView(std::to_string(i))); }
  static crypto::MerkleTree CheckpointTree() {
    std::vector<Hash256> leaves;
    for (uint64_t i = 0; i < kCheckpoints; ++i) {
      Hash256 h = CheckpointHash(i);
      leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
    }
    return crypto::MerkleTree(leaves);
  }

  // The solver's forced-error secret for a job, and its claim.
  static Hash256 SecretOf(const Hash256& id) { return crypto::TaggedHash("test/forced-error-secret", ByteView(id.bytes)); }
  static ClaimJobOp ClaimOf(const Hash256& id) { return ClaimJobOp{id, ForcedErrorCommitment(SecretOf(id), id)}; }

  // The solver's reveal after the challenge window (seals until it is open).
  void RevealAfterWindow(const Hash256& id) {
    SealUntil(JobOf(id).challenge_end_height + 1);
    Status s = Submit(kSolver, RevealOp{id, SecretOf(id), {}, {}, {}, {}});
    EXPECT_TRUE(s.ok()) << s.ToString();
    Seal();
  }

  // Posts, claims and commits a job; returns its id.
  Hash256 CommittedJob(uint8_t n, Amount fee = 1000, Amount solver_stake = 2000) {
    Hash256 id = JobId(n);
    PostJobOp post{id, fee, solver_stake, 10, 10, Hash256{}};
    post.exact_replay = exact_jobs_;
    EXPECT_TRUE(Submit(kSubmitter, post).ok());
    Seal();
    EXPECT_TRUE(Submit(kSolver, ClaimOf(id)).ok());
    Seal();
    Hash256 cert;
    cert.bytes.fill(0xce);
    EXPECT_TRUE(Submit(kSolver, CommitCertificateOp{id, cert, CheckpointTree().root(), cert, kCheckpoints}).ok());
    Seal();
    return id;
  }

  // A reject of segment `segment` whose replay ended at `challenger_end`.
  static DisputeOpenOp OpenOn(const Hash256& id, uint64_t segment, const Hash256& challenger_end) {
    crypto::MerkleTree tree = CheckpointTree();
    DisputeOpenOp op;
    op.job_id = id;
    op.segment = segment;
    op.begin_step = segment * kSegmentSteps;
    op.end_step = (segment + 1) * kSegmentSteps;
    op.start_hash = CheckpointHash(segment);
    if (segment < kCheckpoints) op.start_proof = tree.Proof(segment);
    op.end_hash = CheckpointHash(segment + 1);
    if (segment + 1 < kCheckpoints) op.end_proof = tree.Proof(segment + 1);
    op.challenger_end_hash = challenger_end;
    return op;
  }

  // Every unit is in an account, a live escrow or the jackpot, and they sum
  // to the recorded supply.
  void ExpectConserved() {
    Amount total = 0;
    Status scanned = kv_->Scan(kStateColumnFamily, "", [&](std::string_view key, std::string_view value) {
      std::string_view logical = key.substr(2);
      if (logical.rfind("a/", 0) == 0) {
        Account a = DecodeAccount(value).value();
        total += a.balance + a.stake_free + a.stake_bonded + a.unbonding;
      } else if (logical.rfind("j/", 0) == 0) {
        total += DecodeJob(value).value().fee;
      }
      return true;
    });
    ASSERT_TRUE(scanned.ok());
    total += ledger_->GetJackpot().value();
    Amount supply = GetAmount(StoreStateReader(kv_.get()), kSupplyKey).value();
    ASSERT_EQ(total, supply) << "at height " << ledger_->head().height;
  }

  std::optional<Dispute> OpenDisputeOf(const Hash256& id) { return ledger_->GetOpenDispute(id).value(); }

  Genesis genesis_;
  bool exact_jobs_ = false;  // CommittedJob posts exact-replay jobs (forced errors apply only to those).
  std::map<uint8_t, crypto::KeyPair> keys_;
  std::unique_ptr<store::MemoryStore> kv_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Sequencer> sequencer_;
};

}  // namespace cairn::ledger::testing
