#include "crash_workload.h"

#include <algorithm>

#include "crypto/hash.h"
#include "util/codec.h"

namespace cairn::ledger::crash {
namespace {

crypto::KeyPair KeyFromByte(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

// Balances far above what the workload can spend, so that refusals are rare.
constexpr Amount kUserBalance = 1'000'000'000'000;
constexpr Amount kUserStake = 1'000'000'000;
constexpr uint32_t kVotesPerJobMax = 3;
// Consecutive empty blocks (every transaction refused) before giving up.
constexpr int kEmptyRoundsMax = 100;

}  // namespace

Parties::Parties() : sequencer_(KeyFromByte(0x51)), referee_(KeyFromByte(0x52)) {
  for (uint8_t i = 0; i < kUsers; ++i) users_.push_back(KeyFromByte(static_cast<uint8_t>(0x60 + i)));
}

const crypto::KeyPair& Parties::KeyOf(const AccountId& id) const {
  if (id == referee_.public_key()) return referee_;
  for (const auto& key : users_) {
    if (key.public_key() == id) return key;
  }
  CAIRN_ASSERT(false && "not a party of the crash chain");
  return referee_;
}

Genesis CrashGenesis(const Parties& parties) {
  Genesis g;
  g.chain_id = kChainId;
  g.genesis_time_ms = 1'700'000'000'000;
  g.sequencer = parties.sequencer().public_key();
  g.referee = parties.referee().public_key();
  g.params.unbonding_delay_blocks = 4;
  g.params.challenge_window_blocks = 3;
  g.params.faucet_amount_max = 1000;
  g.params.verifier_stake_min = 10;
  g.params.job_fee_min = 1;
  for (size_t i = 0; i < kUsers; ++i) g.allocations.push_back({parties.user(i).public_key(), kUserBalance, kUserStake});
  return g;
}

Workload::Workload(Ledger* ledger, const Parties* parties, uint64_t seed)
    : ledger_(ledger), parties_(parties), rng_(seed) {}

Status Workload::Recover() {
  uint64_t head = ledger_->head().height;
  uint64_t first = head > kRecoverBlocksMax ? head - kRecoverBlocksMax + 1 : 1;
  for (uint64_t h = first; h <= head; ++h) {
    CAIRN_ASSIGN_OR_RETURN(Block block, ledger_->GetBlock(h));
    OnCommitted(block);
  }
  return Status::Ok();
}

void Workload::OnCommitted(const Block& block) {
  for (const SignedTx& tx : block.txs) {
    if (const auto* post = std::get_if<PostJobOp>(&tx.body.op)) {
      if (jobs_.size() >= kTrackedJobsMax) jobs_.pop_front();
      jobs_.push_back(post->job_id);
    }
  }
}

size_t Workload::RandomUser(size_t not_this) {
  for (;;) {
    size_t i = std::uniform_int_distribution<size_t>(0, kUsers - 1)(rng_);
    if (i != not_this) return i;
  }
}

Result<SignedTx> Workload::Make(const crypto::KeyPair& key, Operation op) {
  const AccountId& sender = key.public_key();
  auto it = next_nonce_.find(sender);
  if (it == next_nonce_.end()) {
    CAIRN_ASSIGN_OR_RETURN(uint64_t nonce, ledger_->NextNonce(sender));
    it = next_nonce_.emplace(sender, nonce).first;
  }
  TxBody body{kChainId, sender, it->second++, std::move(op)};
  return SignTx(std::move(body), key);
}

Result<std::optional<SignedTx>> Workload::Advance(const Hash256& job_id, bool* finished) {
  *finished = false;
  CAIRN_ASSIGN_OR_RETURN(std::optional<Job> found, ledger_->GetJob(job_id));
  if (!found) return std::optional<SignedTx>();  // Posted in a block that was not committed.
  const Job& job = *found;
  const uint64_t height = ledger_->head().height + 1;  // Of the block this batch goes into.
  auto percent = [&] { return std::uniform_int_distribution<int>(0, 99)(rng_); };
  auto random_hash = [&] {
    Hash256 h;
    for (auto& b : h.bytes) b = static_cast<uint8_t>(rng_());
    return h;
  };
  auto user_index = [&](const AccountId& id) {
    for (size_t i = 0; i < kUsers; ++i) {
      if (parties_->user(i).public_key() == id) return i;
    }
    return size_t{SIZE_MAX};
  };
  const crypto::KeyPair& anyone = parties_->user(RandomUser());
  std::optional<Result<SignedTx>> tx;
  switch (job.status) {
    case JobStatus::kOpen:
      if (height > job.claim_deadline_height) {
        tx = Make(anyone, SettleOp{job_id});
      } else if (percent() < 80) {
        tx = Make(parties_->user(RandomUser(user_index(job.submitter))), ClaimJobOp{job_id, random_hash()});
      }
      break;
    case JobStatus::kClaimed:
      if (height > job.commit_deadline_height) {
        tx = Make(anyone, SettleOp{job_id});
      } else if (percent() < 70) {
        tx =
            Make(parties_->KeyOf(job.solver), CommitCertificateOp{job_id, random_hash(), random_hash(), random_hash(), 3});
      }
      break;
    case JobStatus::kCommitted:
      if (height > job.challenge_end_height) {
        tx = Make(anyone, SettleOp{job_id});
      } else if (job.votes.size() < kVotesPerJobMax && percent() < 60) {
        size_t verifier = RandomUser(user_index(job.solver));
        bool voted = std::any_of(job.votes.begin(), job.votes.end(),
                                 [&](const Vote& v) { return v.verifier == parties_->user(verifier).public_key(); });
        if (!voted) tx = Make(parties_->user(verifier), VerdictOp{job_id, percent() >= 15, random_hash()});
      }
      break;
    case JobStatus::kDisputed: tx = Make(parties_->referee(), RulingOp{job_id, percent() < 50, 0, {}, {}, {}}); break;
    case JobStatus::kSettled:
    case JobStatus::kFailed:
    case JobStatus::kExpired:
    case JobStatus::kCancelled: *finished = true; break;
  }
  if (!tx) return std::optional<SignedTx>();
  if (!tx->ok()) return tx->status();
  return std::optional<SignedTx>(std::move(*tx).value());
}

Result<std::vector<SignedTx>> Workload::NextBatch(size_t count) {
  next_nonce_.clear();
  std::vector<SignedTx> batch;
  // Jobs first, one step each: at most half the batch.
  for (auto it = jobs_.begin(); it != jobs_.end() && batch.size() < count / 2 + 1;) {
    bool finished = false;
    CAIRN_ASSIGN_OR_RETURN(auto tx, Advance(*it, &finished));
    if (tx) batch.push_back(std::move(*tx));
    it = finished ? jobs_.erase(it) : it + 1;
  }
  const uint64_t height = ledger_->head().height + 1;
  while (batch.size() < count) {
    size_t from = RandomUser();
    const crypto::KeyPair& key = parties_->user(from);
    int kind = std::uniform_int_distribution<int>(0, 99)(rng_);
    auto amount = [&](Amount lo, Amount hi) { return std::uniform_int_distribution<Amount>(lo, hi)(rng_); };
    Operation op;
    if (kind < 45) {
      op = TransferOp{parties_->user(RandomUser(from)).public_key(), amount(1, 1000)};
    } else if (kind < 55) {
      op = FaucetOp{amount(1, 1000)};
    } else if (kind < 67) {
      op = StakeOp{amount(1, 100)};
    } else if (kind < 77) {
      op = UnstakeOp{amount(1, 50)};
    } else {
      util::Writer w;
      w.U64(height);
      w.U64(posted_++);
      w.U64(rng_());
      op = PostJobOp{crypto::TaggedHash("cairn/crash-test/job", w.bytes()), amount(1, 1000), amount(10, 100),
                     amount(2, 5), amount(2, 5), Hash256{}};
    }
    CAIRN_ASSIGN_OR_RETURN(SignedTx tx, Make(key, std::move(op)));
    batch.push_back(std::move(tx));
  }
  return batch;
}

Status RunBlocks(Sequencer* sequencer, Ledger* ledger, Workload* workload, uint64_t blocks, size_t txs_per_block,
                 const std::function<void(const Block&)>& on_commit) {
  int empty_rounds = 0;
  std::vector<Status> results;
  for (uint64_t done = 0; blocks == 0 || done < blocks;) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<SignedTx> batch, workload->NextBatch(txs_per_block));
    sequencer->SubmitBatch(batch, &results);
    // The block time only informs; derive it from the height so runs repeat.
    uint64_t time_ms = 1'700'000'000'000 + (ledger->head().height + 1) * 1000;
    CAIRN_ASSIGN_OR_RETURN(std::optional<ProducedBlock> produced, sequencer->ProduceBlock(time_ms));
    if (!produced) {
      if (++empty_rounds >= kEmptyRoundsMax) {
        return Internal("the crash workload produced " + std::to_string(kEmptyRoundsMax) +
                        " batches in a row that were all refused; first refusal: " + results.front().ToString());
      }
      continue;
    }
    empty_rounds = 0;
    workload->OnCommitted(produced->block);
    if (on_commit) on_commit(produced->block);
    ++done;
  }
  return Status::Ok();
}

}  // namespace cairn::ledger::crash
