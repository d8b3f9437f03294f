// Dispute cost against segment length, on the ledger side: a cheating solver
// and an honest challenger play the pinpoint game to the referee on a real
// ledger (in-memory store, the sequencer, signed transactions), for segments
// of 1k, 10k and 100k steps and traces of 100 and 1000 operator records.
// Prints rounds against the bound log2(k) + log2(ops) + 2, transaction bytes,
// and the ledger's wall time per dispute; writes bench-results/dispute.json
// (--json PATH).
//
// What it does not measure: the parties' replays (a party replays up to the
// segment once per step round, or once with Engine::StepHashes) and the
// referee's recomputation (one operator, or one step in the fallback); the
// devnet (`cairn devnet --cheat`) shows those for a real job.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "ledger/dispute.h"
#include "ledger/forced_error.h"
#include "ledger/sequencer.h"
#include "store/memory_store.h"

namespace cairn {
namespace {

using namespace ledger;

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  seed[0] = 0xbe;
  return crypto::KeyPair::FromSeed(seed);
}

Hash256 H(const char* tag, uint64_t a, uint64_t b = 0) {
  return crypto::TaggedHash(tag, ByteView(std::to_string(a) + "/" + std::to_string(b)));
}

struct Result {
  uint64_t steps = 0, ops = 0;
  int rounds = 0;
  uint64_t txs = 0, tx_bytes = 0;
  double seconds = 0;
  int bound = 0;
};

class Game {
 public:
  Game(uint64_t k, uint64_t ops, uint64_t bad_step, uint64_t bad_op) : k_(k), ops_(ops), bad_step_(bad_step), bad_op_(bad_op) {
    genesis_.chain_id = "cairn-dispute-bench";
    genesis_.sequencer = Key(1).public_key();
    genesis_.referee = Key(2).public_key();
    genesis_.params.verifier_stake_min = 100;
    genesis_.params.dispute_round_blocks = 10;
    genesis_.params.forced_error_bps = 0;  // The game on a cheated segment, not a forced one.
    for (uint8_t p : {3, 4, 5}) genesis_.allocations.push_back({Key(p).public_key(), 100000, 10000});
    kv_ = std::make_unique<store::MemoryStore>(LedgerColumnFamilies());
    ledger_ = std::move(Ledger::Open(kv_.get(), &genesis_, LedgerOptions{store::SyncPolicy::kNoSync, 1}).value());
    seq_ = std::make_unique<Sequencer>(ledger_.get(), &sequencer_key_);
  }

  Status Send(uint8_t party, Operation op) {
    crypto::KeyPair key = Key(party);
    TxBody body{genesis_.chain_id, key.public_key(), ledger_->NextNonce(key.public_key()).value(), std::move(op)};
    SignedTx tx = SignTx(std::move(body), key);
    result_.txs++;
    result_.tx_bytes += EncodeTx(tx).size();
    return seq_->Submit(tx);
  }
  void Seal() { (void)seq_->ProduceBlock(1000 + ledger_->head().height, kBlockTxsMax, true); }

  Hash256 State(uint64_t t, bool cheater) const {
    if (t == 0) return H("ckpt", 0);
    if (t == k_ && cheater) return H("ckpt", 1);
    return t < bad_step_ || !cheater ? H("state", t) : H("cheat", t);
  }
  Bytes Record(uint64_t j, bool cheater) const {
    Hash256 h = cheater && j >= bad_op_ ? H("cheat-op", j) : H("op", j);
    return Bytes(h.bytes.begin(), h.bytes.end());
  }

  PinpointMoveOp Move(const Dispute& d, bool cheater) const {
    PinpointMoveOp m;
    m.job_id = d.job_id;
    m.phase = static_cast<uint8_t>(d.phase);
    m.position = d.position;
    if (d.phase == DisputePhase::kSteps) {
      m.hash = State(d.position, cheater);
      return m;
    }
    std::vector<Hash256> hashes;
    for (uint64_t j = 0; j < ops_; ++j) hashes.push_back(TraceRecordHash(Record(j, cheater)));
    std::vector<Hash256> prefixes = TracePrefixes(d.lo_hash, hashes);
    if (d.phase == DisputePhase::kTraceRoots) {
      m.hash = TraceRoot(prefixes);
      m.count = prefixes.size();
    } else if (d.phase == DisputePhase::kOps) {
      m.hash = prefixes[d.position - 1];
      m.proof = ledger::TracePrefixProof(prefixes, d.position - 1);
    } else {
      m.record = Record(d.position, cheater);
      m.proof = ledger::TracePrefixProof(prefixes, d.position);
      m.hash = H("inputs-blob", d.position);
    }
    return m;
  }

  Result Play() {
    const Hash256 job = H("job", k_, ops_);
    CAIRN_ASSERT(Send(3, PostJobOp{job, 1000, 1000, 10, 10, Hash256{}}).ok());
    Seal();
    // A real forced-error commitment (this chain's genesis forces none).
    CAIRN_ASSERT(Send(4, ClaimJobOp{job, ForcedErrorCommitment(H("secret", k_, ops_), job)}).ok());
    Seal();
    std::vector<Hash256> leaves;
    for (uint64_t i = 0; i < 2; ++i) {
      Hash256 c = H("ckpt", i);
      leaves.push_back(crypto::MerkleLeafHash(ByteView(c.bytes)));
    }
    crypto::MerkleTree tree(leaves);
    CAIRN_ASSERT(Send(4, CommitCertificateOp{job, Hash256{}, tree.root(), Hash256{}, 2}).ok());
    Seal();
    Seal();
    result_.txs = result_.tx_bytes = 0;  // The dispute's own transactions from here.
    auto started = std::chrono::steady_clock::now();
    DisputeOpenOp open;
    open.job_id = job;
    open.begin_step = 0;
    open.end_step = k_;
    open.start_hash = H("ckpt", 0);
    open.start_proof = tree.Proof(0);
    open.end_hash = H("ckpt", 1);
    open.end_proof = tree.Proof(1);
    open.challenger_end_hash = State(k_, false);
    CAIRN_ASSERT(Send(5, open).ok());
    Seal();
    for (;;) {
      auto d = ledger_->GetOpenDispute(job).value();
      CAIRN_ASSERT(d.has_value());
      if (d->phase == DisputePhase::kReferee) break;
      CAIRN_ASSERT(Send(4, Move(*d, true)).ok());
      CAIRN_ASSERT(Send(5, Move(*d, false)).ok());
      Seal();
      result_.rounds++;
    }
    auto d = *ledger_->GetOpenDispute(job).value();
    CAIRN_ASSERT(d.lo_step + 1 == bad_step_ && d.op_lo == bad_op_);
    RulingOp ruling;
    ruling.job_id = job;
    ruling.solver_at_fault = true;
    ruling.task = static_cast<uint8_t>(d.task);
    ruling.value = TraceRecordHash(Record(d.op_lo, false));
    ruling.op_name = "aten::bench";
    CAIRN_ASSERT(Send(2, ruling).ok());
    Seal();
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CAIRN_ASSERT(ledger_->GetJob(job).value()->status == JobStatus::kFailed);
    result_.steps = k_;
    result_.ops = ops_;
    result_.bound = static_cast<int>(std::ceil(std::log2(static_cast<double>(k_))) +
                                     std::ceil(std::log2(static_cast<double>(ops_))) + 2);
    return result_;
  }

 private:
  uint64_t k_, ops_, bad_step_, bad_op_;
  Genesis genesis_;
  crypto::KeyPair sequencer_key_ = Key(1);
  std::unique_ptr<store::MemoryStore> kv_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Sequencer> seq_;
  Result result_;
};

int Main(int argc, char** argv) {
  std::string json_path = "bench-results/dispute.json";
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--json") json_path = argv[i + 1];
  }
  std::mt19937_64 rng(7);
  std::printf("%8s  %6s  %6s  %6s  %5s  %9s  %10s\n", "steps", "ops", "rounds", "bound", "txs", "tx bytes", "ledger s");
  std::string json = "{\"bench\": \"dispute\", \"note\": \"ledger side only; see bench/dispute_bench.cpp\", \"runs\": [";
  bool first = true;
  for (uint64_t k : {1000, 10000, 100000}) {
    for (uint64_t ops : {100, 1000}) {
      Game game(k, ops, 1 + rng() % k, rng() % ops);
      Result r = game.Play();
      std::printf("%8llu  %6llu  %6d  %6d  %5llu  %9llu  %10.4f\n", static_cast<unsigned long long>(r.steps),
                  static_cast<unsigned long long>(r.ops), r.rounds, r.bound, static_cast<unsigned long long>(r.txs),
                  static_cast<unsigned long long>(r.tx_bytes), r.seconds);
      json += std::string(first ? "" : ", ") + "{\"steps\": " + std::to_string(r.steps) + ", \"ops\": " +
              std::to_string(r.ops) + ", \"rounds\": " + std::to_string(r.rounds) + ", \"bound\": " +
              std::to_string(r.bound) + ", \"txs\": " + std::to_string(r.txs) + ", \"tx_bytes\": " +
              std::to_string(r.tx_bytes) + ", \"ledger_seconds\": " + std::to_string(r.seconds) + "}";
      first = false;
    }
  }
  json += "]}\n";
  if (std::filesystem::path(json_path).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(json_path).parent_path());
  }
  std::ofstream(json_path) << json;
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) { return cairn::Main(argc, argv); }
