// Property: whatever sequence of transactions users send, accepted or not,
// no unit is created or destroyed except by the faucet. Every unit is in an
// account (balance, free, bonded or unbonding stake), in a live job's escrow,
// or in the jackpot, and together they equal the recorded total supply.
#include <map>
#include <random>

#include "ledger/audit.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerConservation : public LedgerFixture {};

// A move for whichever round a job's open dispute is in, from one of its
// parties, with hashes drawn so that sides agree or not at random; each
// party keeps the trace it committed so that its later proofs are valid.
class RandomDisputant {
 public:
  explicit RandomDisputant(std::mt19937_64* rng) : rng_(*rng) {}

  std::optional<PinpointMoveOp> Move(const Dispute& d, bool solver) {
    PinpointMoveOp m;
    m.job_id = d.job_id;
    m.phase = static_cast<uint8_t>(d.phase);
    m.position = d.position;
    auto key = std::make_tuple(d.job_id, d.index, solver);
    switch (d.phase) {
      case DisputePhase::kSteps: {
        uint64_t tag = rng_() % 2;
        m.hash = crypto::TaggedHash("random/state", ByteView(std::to_string(tag)));
        return m;
      }
      case DisputePhase::kTraceRoots: {
        std::vector<Hash256> records;
        size_t n = 1 + rng_() % 20;
        uint64_t diverge = rng_() % 24;
        for (uint64_t j = 0; j < n; ++j) {
          uint64_t v = j < diverge ? j : j + 1000 * (1 + rng_() % 2);
          records.push_back(TraceRecordHash(ByteView(reinterpret_cast<const uint8_t*>(&v), sizeof(v))));
          raw_[key].push_back(Bytes(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + sizeof(v)));
        }
        prefixes_[key] = TracePrefixes(d.lo_hash, records);
        m.hash = TraceRoot(prefixes_[key]);
        m.count = n;
        return m;
      }
      case DisputePhase::kOps: {
        auto& p = prefixes_[key];
        if (d.position == 0 || d.position > p.size()) return std::nullopt;
        std::vector<Hash256> leaves;
        for (const Hash256& h : p) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
        m.hash = p[d.position - 1];
        m.proof = crypto::MerkleTree(leaves).Proof(d.position - 1);
        return m;
      }
      case DisputePhase::kRecords: {
        auto& r = raw_[key];
        auto& p = prefixes_[key];
        if (d.position >= r.size()) return std::nullopt;
        std::vector<Hash256> leaves;
        for (const Hash256& h : p) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
        m.record = r[d.position];
        m.proof = crypto::MerkleTree(leaves).Proof(d.position);
        return m;
      }
      default: return std::nullopt;
    }
  }

 private:
  std::mt19937_64& rng_;
  std::map<std::tuple<Hash256, uint32_t, bool>, std::vector<Hash256>> prefixes_;
  std::map<std::tuple<Hash256, uint32_t, bool>, std::vector<Bytes>> raw_;
};

TEST_F(LedgerConservation, RandomTrafficNeverCreatesOrDestroysUnits) {
  const uint32_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with --gtest_random_seed)");
  std::mt19937_64 rng(seed);
  const uint8_t parties[] = {kSubmitter, kSolver, kVerifier, kVerifier2, kOutsider, kReferee};
  auto pick = [&] { return parties[rng() % std::size(parties)]; };
  auto job = [&] { return JobId(static_cast<uint8_t>(1 + rng() % 4)); };
  auto amount = [&] { return static_cast<Amount>(rng() % 3000); };
  int accepted = 0;
  int moves = 0;  // Counted for a debugger; the traffic is random.
  int rulings = 0;
  RandomDisputant disputant(&rng);
  auto hash = [&] {
    uint64_t v = rng() % 3;
    return crypto::TaggedHash("random", ByteView(std::to_string(v)));
  };
  // Forced errors drawn often, so that reveals and forced checks happen.
  genesis_.params.forced_error_bps = 5000;
  kv_.reset();
  Reopen();
  for (int block = 0; block < 80; ++block) {
    for (int i = 0; i < 14; ++i) {
      Operation op;
      uint8_t sender = pick();
      switch (rng() % 15) {
        case 0: op = TransferOp{Id(pick()), amount()}; break;
        case 1: op = FaucetOp{amount() % 1200}; break;
        case 2: op = StakeOp{amount()}; break;
        case 3: op = UnstakeOp{amount()}; break;
        case 4:
          op = PostJobOp{job(), amount(), 1 + amount(), 1 + rng() % 6, 1 + rng() % 6, Hash256{},
                         static_cast<uint8_t>(1 + rng() % 3), /*exact_replay=*/rng() % 4 != 0};
          break;
        case 5: op = ClaimOf(job()); break;
        case 13: {  // The solver's reveal, in or after a dispute or window, with proofs.
          Hash256 id = job();
          auto j = ledger_->GetJob(id).value();
          if (!j) continue;
          crypto::MerkleTree tree = CheckpointTree();
          uint64_t leaf = 1 + rng() % (kCheckpoints - 2);
          op = RevealOp{id, rng() % 5 ? SecretOf(id) : hash(), CheckpointHash(leaf - 1), tree.Proof(leaf - 1),
                        CheckpointHash(leaf), tree.Proof(leaf)};
          for (uint8_t p : parties) {
            if (Id(p) == j->solver) sender = p;
          }
          break;
        }
        case 6: {  // Mostly from the job's own solver, so that disputes happen.
          Hash256 id = job();
          op = CommitCertificateOp{id, Hash256{}, CheckpointTree().root(), Hash256{}, kCheckpoints};
          auto j = ledger_->GetJob(id).value();
          if (j && rng() % 4 != 0) {
            for (uint8_t p : parties) {
              if (Id(p) == j->solver) sender = p;
            }
          }
          break;
        }
        case 7: op = VerdictOp{job(), rng() % 5 != 0, Hash256{}}; break;
        case 8:
          op = OpenOn(job(), rng() % (kCheckpoints - 1), hash());
          if (rng() % 4 != 0) sender = rng() % 2 ? kVerifier : kVerifier2;
          break;
        case 9:
        case 10: {  // A party's move in an open dispute.
          Hash256 id = job();
          auto d = ledger_->GetOpenDispute(id).value();
          auto j = ledger_->GetJob(id).value();
          if (!d || !j) continue;
          bool solver = rng() % 2 == 0;
          auto move = disputant.Move(*d, solver);
          if (!move) continue;
          op = *move;
          for (uint8_t p : parties) {
            if (Id(p) == (solver ? j->solver : d->challenger)) sender = p;
          }
          if (Submit(sender, op).ok()) moves++;
          continue;
        }
        case 11: {  // The referee, right or wrong, consistent or not.
          Hash256 id = job();
          auto d = ledger_->GetOpenDispute(id).value();
          RulingOp r;
          r.job_id = id;
          r.solver_at_fault = rng() % 2 == 0;
          if (d) {
            r.task = static_cast<uint8_t>(d->task);
            Hash256 solver_value = d->task == RefereeTask::kOperator ? TraceRecordHash(ByteView(d->solver.record))
                                                                     : d->solver_hi_hash;
            r.value = rng() % 2 ? solver_value : rng() % 2 ? d->challenger_hi_hash : hash();
          }
          op = r;
          sender = rng() % 4 ? uint8_t{kReferee} : pick();
          if (Submit(sender, op).ok()) rulings++;
          continue;
        }
        default: op = SettleOp{job()}; break;
      }
      if (Submit(sender, op).ok()) accepted++;
    }
    Seal();
    ExpectConserved();
  }
  EXPECT_GT(accepted, 100);  // The traffic exercised the rules, not just the error paths.
  // Disputes arise here only by luck; ledger_dispute_test plays whole games
  // at random (RandomGamesNeverPunishTheHonestParty), with the same check.
  auto audit = AuditLedger(*kv_);
  EXPECT_TRUE(audit.ok()) << audit.status().ToString();
}

}  // namespace
}  // namespace cairn::ledger::testing
