#include "sim/simulation.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <sstream>
#include <tuple>
#include <variant>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "ledger/audit.h"
#include "ledger/forced_error.h"
#include "ledger/sequencer.h"
#include "node/roles/disputant_role.h"
#include "node/roles/forced_errors.h"
#include "node/roles/ledger_host_role.h"
#include "node/roles/solver_role.h"
#include "node/roles/verifier_role.h"
#include "store/memory_store.h"

namespace cairn::sim {
namespace {

using ledger::Account;
using ledger::AccountId;
using ledger::Amount;
using ledger::Job;
using ledger::JobStatus;
using node::Action;
using node::Event;
using node::SendTx;

// The node runtime's constants (src/node/node.cpp).
constexpr int kTxAttemptsMax = 6;
constexpr uint64_t kBlockIntervalMs = 1000;  // One tick.
// The simulated network: a lost request or reply is noticed (a deadline) after this.
constexpr uint64_t kRpcTimeoutTicks = 2;
// Bounded faults: at most this many attempts of one transaction are lost, at
// most this many fetches, replays or rulings fail per node and job, and a
// node crashes at most this often, with at least this long between crashes.
constexpr int kDroppedAttemptsMax = 2;
constexpr uint32_t kWorkFailuresPerJobMax = 1;
constexpr uint32_t kCrashesPerNodeMax = 2;
constexpr uint64_t kTicksBetweenCrashesMin = 30;
// CheckIdleSolvers: a solver idle this long in a claim window should have claimed.
constexpr uint64_t kIdleMarginBlocks = 4;
// The submitter posts a job again if it is not on the ledger this long after.
constexpr uint64_t kRepostTicks = 8;
// Ticks run after every job is final, so that every node sees it.
constexpr uint64_t kSettleTicks = 10;
constexpr uint64_t kGenesisTimeMs = 1'700'000'000'000;

// Genesis amounts.
constexpr Amount kVerifierBond = 100;
constexpr Amount kUnaffordableStake = 1'000'000;  // More than any solver holds: the job expires.

// execute.cpp's Share: floor(amount * bps / 10000).
Amount Share(Amount amount, uint32_t bps) { return (amount / 10000) * bps + (amount % 10000) * bps / 10000; }

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 8); }

Hash256 Tagged(std::string_view domain, const Hash256& a, const std::array<uint8_t, 32>* b = nullptr) {
  Bytes data(a.bytes.begin(), a.bytes.end());
  if (b) data.insert(data.end(), b->begin(), b->end());
  return crypto::TaggedHash(domain, data);
}

uint64_t TrainingTicks(const Hash256& job_id) { return 2 + job_id.bytes[0] % 5; }

// The simulated computation behind a certificate, for the pinpoint game:
// kSimCheckpoints checkpoints kSimSegmentSteps steps apart, the state hash
// after every step and kSimRecords operator records per step. An honest
// party computes the truth; a cheating solver diverges from step 3 on (it
// fakes segment 0 and trains honestly from its wrong checkpoint 1, so its
// later segments replay), a lying verifier from step 2, each in its
// operator records too.
constexpr uint64_t kSimSegmentSteps = 8;
constexpr uint64_t kSimCheckpoints = 5;
constexpr uint64_t kSimRecords = 20;

enum class View { kTruth, kCheater, kLiar };

Hash256 SimHash(std::string_view domain, const Hash256& job, uint64_t a, uint64_t b, View view) {
  Bytes data(job.bytes.begin(), job.bytes.end());
  for (uint64_t v : {a, b, static_cast<uint64_t>(view)}) {
    for (int i = 0; i < 8; ++i) data.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  return crypto::TaggedHash(domain, data);
}

uint64_t DivergesAt(View view) { return view == View::kCheater ? 3 : view == View::kLiar ? 2 : UINT64_MAX; }

Hash256 SimState(const Hash256& job, uint64_t step, View view) {
  return SimHash("cairn/sim/state/v1", job, step, 0, step < DivergesAt(view) ? View::kTruth : view);
}

Bytes SimRecord(const Hash256& job, uint64_t step, uint64_t j, View view) {
  bool own = view != View::kTruth && j >= (view == View::kCheater ? 7u : 4u);
  Hash256 h = SimHash("cairn/sim/record/v1", job, step, j, own ? view : View::kTruth);
  return Bytes(h.bytes.begin(), h.bytes.end());
}

std::vector<Hash256> SimCheckpoints(const Hash256& job, View view) {
  std::vector<Hash256> out;
  for (uint64_t i = 0; i < kSimCheckpoints; ++i) out.push_back(SimState(job, i * kSimSegmentSteps, view));
  return out;
}

crypto::MerkleTree CheckpointTree(const std::vector<Hash256>& checkpoints) {
  std::vector<Hash256> leaves;
  for (const Hash256& h : checkpoints) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  return crypto::MerkleTree(leaves);
}

// What an honest replay of `segment` from the state `start` reaches: the
// next checkpoint of whichever trajectory `start` is on (the truth, or a
// cheater's from its faked checkpoint 1 on), else a state of its own.
Hash256 SimReplayEnd(const Hash256& job, uint64_t segment, const Hash256& start) {
  for (View view : {View::kTruth, View::kCheater}) {
    std::vector<Hash256> c = SimCheckpoints(job, view);
    if (segment + 1 < c.size() && start == c[segment]) return c[segment + 1];
  }
  return Tagged("cairn/sim/replay-elsewhere/v1", start, &job.bytes);
}

// The forced checkpoint a solver plants over `honest` (the real node flips
// one bit; flipping it back gives the honest twin, which the simulation
// remembers instead).
Hash256 SimFlipped(const Hash256& honest) { return Tagged("cairn/sim/forced-checkpoint/v1", honest); }

// A party's answer to the dispute's current round, from its view.
ledger::PinpointMoveOp SimMove(const ledger::Dispute& d, View view) {
  ledger::PinpointMoveOp m;
  m.job_id = d.job_id;
  m.phase = static_cast<uint8_t>(d.phase);
  m.position = d.position;
  std::vector<Hash256> hashes;
  for (uint64_t j = 0; j < kSimRecords; ++j) hashes.push_back(ledger::TraceRecordHash(SimRecord(d.job_id, d.lo_step, j, view)));
  std::vector<Hash256> prefixes = ledger::TracePrefixes(d.lo_hash, hashes);
  switch (d.phase) {
    case ledger::DisputePhase::kSteps: m.hash = SimState(d.job_id, d.position, view); break;
    case ledger::DisputePhase::kTraceRoots:
      m.hash = ledger::TraceRoot(prefixes);
      m.count = prefixes.size();
      break;
    case ledger::DisputePhase::kOps: {
      m.hash = prefixes[d.position - 1];
      m.proof = ledger::TracePrefixProof(prefixes, d.position - 1);
      break;
    }
    case ledger::DisputePhase::kRecords: {
      m.record = SimRecord(d.job_id, d.lo_step, d.position, view);
      m.proof = ledger::TracePrefixProof(prefixes, d.position);
      m.hash = SimHash("cairn/sim/op-inputs/v1", d.job_id, d.lo_step, d.position, View::kTruth);
      break;
    }
    default: break;
  }
  return m;
}

crypto::KeyPair SimKey(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  seed[0] = 0x5e;  // Distinct from the ledger tests' keys.
  return crypto::KeyPair::FromSeed(seed);
}

enum class Kind { kLedgerHost, kSolver, kVerifier, kSubmitter, kBystander };

// One node (or client) of the simulated network: what its process holds,
// lost in a crash, and what its disk holds, kept.
struct Party {
  Party(std::string n, Kind k, crypto::KeyPair kp) : name(std::move(n)), kind(k), key(std::move(kp)) {}
  AccountId id() const { return key.public_key(); }
  bool has_role() const { return kind == Kind::kLedgerHost || kind == Kind::kSolver || kind == Kind::kVerifier; }

  std::string name;
  Kind kind;
  crypto::KeyPair key;
  size_t index = 0;
  bool honest = true;
  bool lazy = false;  // A verifier that accepts without replaying anything.
  bool may_crash = false;
  Amount genesis_balance = 0, genesis_stake = 0;

  // The process.
  bool up = true;
  uint64_t incarnation = 0;  // Bumped by a crash: what the old process started is void.
  std::unique_ptr<node::Role> role;
  std::deque<SendTx> tx_queue;  // The node's TxLoop: one transaction at a time.
  bool tx_in_flight = false;
  std::map<Hash256, std::pair<uint64_t, uint64_t>> training;  // Job -> (tick started, ticks done before).

  // The disk.
  uint64_t view_height = 0;                   // Blocks applied to the node's own copy of the ledger.
  std::map<Hash256, uint64_t> trained_ticks;  // Checkpointed training progress.

  // The network: the host's block stream to this node, (height, tick the
  // block can reach it), in order; the node takes what has arrived while up.
  std::deque<std::pair<uint64_t, uint64_t>> views;
  uint64_t last_view_tick = 0;

  // Fault bookkeeping.
  uint32_t crashes = 0;
  uint64_t restart_tick = 0;  // While down.
  uint64_t last_restart_tick = 0;
};

View ViewOf(const Party& p) {
  if (p.honest) return View::kTruth;
  return p.kind == Kind::kSolver ? View::kCheater : View::kLiar;
}

// Several roles fed as one (a node runs its roles in turn on every event).
class Roles final : public node::Role {
 public:
  void Add(std::unique_ptr<node::Role> r) { roles_.push_back(std::move(r)); }
  const node::Role* first() const { return roles_.front().get(); }
  const char* name() const override { return "roles"; }
  std::vector<node::Action> OnEvent(const node::Event& event) override {
    std::vector<node::Action> out;
    for (auto& r : roles_) {
      for (auto& a : r->OnEvent(event)) out.push_back(std::move(a));
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<node::Role>> roles_;
};

struct PlannedJob {
  ledger::PostJobOp op;
  uint64_t post_tick = 0;
  std::optional<uint64_t> cancel_tick;
  uint64_t last_post_tick = 0;  // 0: never sent.
  bool cancel_sent = false;
};

// A block as the nodes see it: the jobs it touched, then every party's account.
struct BlockView {
  std::vector<Job> touched;
  std::map<Hash256, ledger::Dispute> disputes;  // The open dispute of each touched job that has one.
  std::vector<Account> accounts;  // By party index.
};

node::JobChanged Changed(const BlockView& view, const Job& job) {
  auto it = view.disputes.find(job.job_id);
  return node::JobChanged{job, it == view.disputes.end() ? std::nullopt : std::optional<ledger::Dispute>(it->second)};
}

// A dispute ruled against its challenger (the referee found the certificate good).
struct FalseChallenge {
  Hash256 job_id;
  AccountId challenger;
  AccountId solver;
};

// Messages in flight and work in progress, each due at a tick.
struct Deliver {  // Finished work: an event for the party that started it.
  size_t party;
  uint64_t incarnation;
  Event event;
};
struct TxArrive {  // A transaction reaching the ledger host.
  size_t party;
  uint64_t incarnation;
  SendTx send;
  int attempt;
};
struct TxReply {  // The host's answer reaching the sender.
  size_t party;
  uint64_t incarnation;
  SendTx send;
  int attempt;
  Status status;
};
struct Scheduled {
  uint64_t tick;
  uint64_t sequence;  // Ties are broken by scheduling order: deterministic.
  std::variant<Deliver, TxArrive, TxReply> message;
};
struct Later {
  bool operator()(const Scheduled& a, const Scheduled& b) const {
    return std::tie(a.tick, a.sequence) > std::tie(b.tick, b.sequence);
  }
};

// One run of the simulation: owns the ledger host's store, the ledger, every
// party and the queue of messages and work in flight. Single-threaded; the
// seed decides everything.
class World {
 public:
  World(const Scenario& scenario, uint64_t seed);
  RunReport Run();

 private:
  bool Faulty() const { return now_ <= scenario_.active_ticks; }
  Party& host() { return *parties_[0]; }
  bool HostUp() { return host().up; }
  template <typename... Args>
  void Trace(const Args&... args) {
    if (!trace_) return;
    std::ostringstream line;
    line << "[sim " << seed_ << " t" << now_ << "] ";
    (line << ... << args);
    std::cerr << line.str() << "\n";
  }
  void Violation(const std::string& what) {
    Trace("VIOLATION: ", what);
    report_.violations.push_back(what);
  }

  Party& AddParty(const std::string& name, Kind kind, Amount balance, Amount stake);
  void OpenLedger();
  std::unique_ptr<node::Role> MakeRole(const Party& p) const;
  void Tick();
  void Crashes();
  void Crash(Party& p);
  void Restart(Party& p);
  void EmitInitialEvents(Party& p);
  void RunClients();
  void DeliverViews();
  void ShowBlock(Party& p, uint64_t height);
  void Seal();
  void ExamineBlock(const ledger::Block& block);
  void CheckConservation();
  void DrainQueue();
  void Schedule(uint64_t tick, std::variant<Deliver, TxArrive, TxReply> message);
  void Feed(Party& p, const Event& event);
  void Carry(Party& p, const Action& action);
  node::TrainingFinished Trained(const Party& p, const Hash256& job_id, const std::vector<Hash256>& checkpoints);
  const std::vector<Hash256>* CommittedCheckpoints(const Job& job) const;
  node::VerificationFinished Verified(const Party& p, const Job& job);
  ledger::RulingOp Rule(const Job& job, const ledger::Dispute& d);
  bool Forged(const Job& job);
  bool WorkFails(const Party& p, const Hash256& job_id);
  bool DropMessage(const Party& p, int attempt);
  uint64_t Latency(const Party& p);
  void Enqueue(Party& p, SendTx send);
  void PumpTx(Party& p);
  void OnArrive(const TxArrive& a);
  void OnReply(const TxReply& r);
  bool AllFinal();
  void CheckOutcome();
  void CheckIdleSolvers(const std::map<Hash256, Job>& jobs);
  Party* Find(const AccountId& id);

  const Scenario scenario_;
  const Faults& faults_ = scenario_.faults;
  const uint64_t seed_;
  const bool trace_;
  Rng rng_;
  uint64_t now_ = 0;
  RunReport report_;
  RunStats& stats_ = report_.stats;

  crypto::KeyPair referee_key_;
  std::vector<std::unique_ptr<Party>> parties_;  // [0] is the ledger host.
  ledger::Genesis genesis_;
  Amount genesis_total_ = 0;
  std::unique_ptr<store::MemoryStore> kv_;  // The ledger host's disk: survives its crashes.
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::Sequencer> sequencer_;

  std::vector<PlannedJob> plan_;
  std::vector<BlockView> views_;                         // views_[h]: block h; views_[0] is genesis.
  std::map<Hash256, Job> latest_;                        // Every job as of the last block.
  std::map<Hash256, uint64_t> committed_at_, final_at_;  // Heights of the first commit and of the end.
  Amount minted_ = 0;                                    // By faucet transactions in blocks.
  std::map<std::pair<size_t, Hash256>, uint32_t> work_failures_;
  std::map<Hash256, std::vector<Hash256>> committed_;  // Every certificate's checkpoints, by checkpoint root.
  std::map<Hash256, Hash256> twin_of_;                 // Planted forced checkpoint -> the honest one.
  std::priority_queue<Scheduled, std::vector<Scheduled>, Later> queue_;
  uint64_t next_sequence_ = 0;
};

World::World(const Scenario& scenario, uint64_t seed)
    : scenario_(scenario),
      seed_(seed),
      trace_(std::getenv("CAIRN_SIM_TRACE") != nullptr),
      rng_(seed * 0x2545f4914f6cdd1dULL + 1),
      referee_key_(SimKey(0xfe)) {
  CAIRN_ASSERT(scenario.cheating_solvers <= scenario.solvers);
  CAIRN_ASSERT(scenario.lying_verifiers + scenario.lazy_verifiers <= scenario.verifiers);
  CAIRN_ASSERT(scenario.solver_stake < kUnaffordableStake);
  AddParty("ledger-host", Kind::kLedgerHost, 0, 0);
  for (uint32_t i = 0; i < scenario.solvers; ++i) {
    Party& p = AddParty("solver-" + std::to_string(i), Kind::kSolver, 10'000, scenario.solver_stake);
    p.honest = i >= scenario.cheating_solvers;
    p.may_crash = true;
  }
  for (uint32_t i = 0; i < scenario.verifiers; ++i) {
    Party& p = AddParty("verifier-" + std::to_string(i), Kind::kVerifier, 10'000, scenario.verifier_stake);
    p.honest = i < scenario.verifiers - scenario.lying_verifiers - scenario.lazy_verifiers;
    p.lazy = !p.honest && i < scenario.verifiers - scenario.lying_verifiers;
    p.may_crash = !(scenario.anchor_verifier && i == 0);
  }
  AddParty("submitter", Kind::kSubmitter, 10'000'000, 0);
  AddParty("bystander-0", Kind::kBystander, 5'000, 1'000);
  AddParty("bystander-1", Kind::kBystander, 5'000, 1'000);
  if (scenario.anchor_verifier) CAIRN_ASSERT(scenario.verifiers > 0 && parties_[1 + scenario.solvers]->honest);

  genesis_.chain_id = "cairn-sim";
  genesis_.genesis_time_ms = kGenesisTimeMs;
  genesis_.sequencer = host().id();
  genesis_.referee = referee_key_.public_key();
  ledger::Params& params = genesis_.params;
  params.unbonding_delay_blocks = 10;
  params.challenge_window_blocks = scenario.challenge_window_blocks;
  params.faucet_amount_max = 500;
  params.verifier_stake_min = kVerifierBond;
  params.job_fee_min = 1;
  params.jackpot_tax_bps = 100;
  params.verifier_share_bps = 1000;
  params.challenger_reward_bps = 5000;
  // Longer than any outage the faults allow, so that an honest party in a
  // dispute always gets to move (what an operator must size it by).
  params.dispute_round_blocks = 100;
  params.reveal_window_blocks = 100;  // Likewise for the solver's forced-error reveal.
  params.forced_error_bps = scenario.forced_error_bps;
  for (const auto& p : parties_) {
    if (p->genesis_balance + p->genesis_stake == 0) continue;
    genesis_.allocations.push_back({p->id(), p->genesis_balance, p->genesis_stake});
    genesis_total_ += p->genesis_balance + p->genesis_stake;
  }
  kv_ = std::make_unique<store::MemoryStore>(ledger::LedgerColumnFamilies());
  OpenLedger();
  BlockView genesis_view;
  for (const auto& p : parties_) genesis_view.accounts.push_back(ledger_->GetAccount(p->id()).value());
  views_.push_back(std::move(genesis_view));

  // The submitter's plan: jobs spread over the first two thirds of the run;
  // some it cancels at once (racing the solvers' claims), some want a bond
  // nobody has (they expire).
  uint64_t last_post = std::max<uint64_t>(1, scenario.active_ticks * 2 / 3);
  for (uint32_t i = 0; i < scenario.jobs; ++i) {
    PlannedJob j;
    Hash256 n;
    for (int b = 0; b < 8; ++b) n.bytes[b] = static_cast<uint8_t>(seed >> (8 * b));
    n.bytes[8] = static_cast<uint8_t>(i);
    n.bytes[9] = static_cast<uint8_t>(i >> 8);
    j.op.job_id = Tagged("cairn/sim/job/v1", n);
    j.op.fee = rng_.Between(1000, 5000);
    j.op.solver_stake = rng_.Chance(100) ? kUnaffordableStake : rng_.Between(500, 3000);
    j.op.claim_window_blocks = scenario.claim_window_blocks;
    j.op.commit_window_blocks = scenario.commit_window_blocks;
    j.op.manifest_hash = Tagged("cairn/sim/manifest/v1", j.op.job_id);
    j.op.exact_replay = true;  // The simulated replay is bitwise: accepts answer for forced and real errors.
    j.post_tick = rng_.Between(1, last_post);
    if (rng_.Chance(120)) j.cancel_tick = j.post_tick + rng_.Between(1, 4);
    plan_.push_back(j);
  }
}

Party& World::AddParty(const std::string& name, Kind kind, Amount balance, Amount stake) {
  auto p = std::make_unique<Party>(name, kind, SimKey(static_cast<uint8_t>(parties_.size() + 1)));
  p->index = parties_.size();
  p->genesis_balance = balance;
  p->genesis_stake = stake;
  parties_.push_back(std::move(p));
  return *parties_.back();
}

// The ledger host's steps 2-3: open the ledger on its store and recover the
// durable mempool (after a crash, what it had admitted comes back).
void World::OpenLedger() {
  auto opened = ledger::Ledger::Open(kv_.get(), &genesis_, ledger::LedgerOptions{store::SyncPolicy::kSync, 1});
  CAIRN_ASSERT(opened.ok());
  ledger_ = std::move(opened).value();
  sequencer_ = std::make_unique<ledger::Sequencer>(ledger_.get(), &host().key,
                                                   ledger::SequencerOptions{true, store::SyncPolicy::kSync});
  std::vector<ledger::DroppedTx> dropped;
  auto recovered = sequencer_->Recover(&dropped);
  CAIRN_ASSERT(recovered.ok());
  if (*recovered + dropped.size() > 0) Trace("mempool recovered: ", *recovered, " txs, ", dropped.size(), " stale");
}

std::unique_ptr<node::Role> World::MakeRole(const Party& p) const {
  switch (p.kind) {
    case Kind::kLedgerHost: {
      node::LedgerHostPolicy policy;
      policy.referee = true;
      policy.reveal_window_blocks = genesis_.params.reveal_window_blocks;
      return std::make_unique<node::LedgerHostRole>(policy);
    }
    case Kind::kSolver: {
      node::SolverPolicy policy;
      policy.jobs_max = scenario_.solver_jobs_max;
      policy.secret = Tagged("cairn/sim/solver-secret/v1", Hash256{}, &p.key.public_key().bytes);
      policy.forced_error_bps = genesis_.params.forced_error_bps;
      node::DisputantPolicy disputant;
      disputant.solver_secret = policy.secret;
      disputant.forced_error_bps = policy.forced_error_bps;
      auto roles = std::make_unique<Roles>();
      roles->Add(std::make_unique<node::SolverRole>(p.id(), policy));
      roles->Add(std::make_unique<node::DisputantRole>(p.id(), disputant));
      return roles;
    }
    case Kind::kVerifier: {
      node::VerifierPolicy policy;
      policy.bond = genesis_.params.verifier_stake_min;
      policy.sample_bps = genesis_.params.verifier_sample_bps;
      auto roles = std::make_unique<Roles>();
      roles->Add(std::make_unique<node::VerifierRole>(p.id(), policy));
      roles->Add(std::make_unique<node::DisputantRole>(p.id(), node::DisputantPolicy{}));
      return roles;
    }
    default:
      return nullptr;
  }
}

RunReport World::Run() {
  report_.seed = seed_;
  for (auto& p : parties_) {
    p->role = MakeRole(*p);
    EmitInitialEvents(*p);
  }
  uint64_t all_final_since = 0;
  while (now_ < scenario_.active_ticks + scenario_.quiet_ticks_max) {
    Tick();
    if (now_ <= scenario_.active_ticks) continue;
    if (!AllFinal()) {
      all_final_since = 0;
    } else if (all_final_since == 0) {
      all_final_since = now_;
    } else if (now_ >= all_final_since + kSettleTicks) {
      break;
    }
  }
  stats_.ticks = now_;
  CheckOutcome();
  ledger::Head head = ledger_->head();
  report_.fingerprint = std::to_string(head.height) + ":" + head.block_hash.ToHex() + ":" + head.state_root.ToHex();
  return std::move(report_);
}

void World::Tick() {
  now_++;
  if (Faulty()) Crashes();
  for (auto& p : parties_) {
    if (!p->up && (p->restart_tick <= now_ || !Faulty())) Restart(*p);
  }
  RunClients();
  DeliverViews();
  DrainQueue();
  if (!HostUp()) return;
  Seal();
  DrainQueue();  // What the ledger host did on seeing its block.
}

void World::Crashes() {
  for (auto& p : parties_) {
    if (!p->up) continue;
    bool is_host = p->kind == Kind::kLedgerHost;
    uint32_t per_mille = is_host ? faults_.host_crash_per_mille : (p->may_crash ? faults_.crash_per_mille : 0);
    if (per_mille == 0) continue;
    if (faults_.bounded &&
        (p->crashes >= kCrashesPerNodeMax || now_ < p->last_restart_tick + kTicksBetweenCrashesMin)) {
      continue;
    }
    if (rng_.Chance(per_mille)) Crash(*p);
  }
}

void World::Crash(Party& p) {
  // Training checkpoints as it goes: what was done is on disk.
  for (const auto& [job_id, started] : p.training) {
    p.trained_ticks[job_id] = std::min(TrainingTicks(job_id), started.second + (now_ - started.first));
  }
  p.training.clear();
  p.up = false;
  p.incarnation++;
  p.role.reset();
  p.tx_queue.clear();
  p.tx_in_flight = false;
  p.crashes++;
  p.restart_tick = now_ + rng_.Between(1, faults_.downtime_ticks_max);
  if (p.kind == Kind::kLedgerHost) {
    stats_.host_crashes++;
    sequencer_.reset();
    ledger_.reset();
  } else {
    stats_.crashes++;
  }
  Trace(p.name, " crashed at height ", p.kind == Kind::kLedgerHost ? views_.size() - 1 : p.view_height,
        ", restarts at t", p.restart_tick);
}

void World::Restart(Party& p) {
  p.up = true;
  p.last_restart_tick = now_;
  if (p.kind == Kind::kLedgerHost) OpenLedger();
  p.role = MakeRole(p);
  Trace(p.name, " restarted at height ", p.kind == Kind::kLedgerHost ? ledger_->head().height : p.view_height);
  EmitInitialEvents(p);
}

// What Node::Impl::EmitInitialEvents does: the node's height and account,
// then every job its own ledger holds that is not final, oldest first.
void World::EmitInitialEvents(Party& p) {
  if (!p.role) return;
  std::vector<Job> jobs;
  std::map<Hash256, uint64_t> last_view;  // Follower: the view that last showed each job.
  node::NewHeight height;
  if (p.kind == Kind::kLedgerHost) {
    height.height = ledger_->head().height;
    height.account = ledger_->GetAccount(p.id()).value();
    std::vector<Hash256> ids;
    Status listed = ledger_->ListJobs([&](const Hash256& id, uint64_t) {
      ids.push_back(id);
      return true;
    });
    CAIRN_ASSERT(listed.ok());
    for (const Hash256& id : ids) jobs.push_back(ledger_->GetJob(id).value().value());
  } else {
    // A follower's ledger stands at its view height: replay the views up to it.
    height.height = p.view_height;
    height.account = views_[p.view_height].accounts[p.index];
    std::map<Hash256, Job> at;
    for (uint64_t h = 1; h <= p.view_height; ++h) {
      for (const Job& j : views_[h].touched) {
        at[j.job_id] = j;
        last_view[j.job_id] = h;
      }
    }
    for (const auto& [id, j] : at) jobs.push_back(j);
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
      return std::tie(a.posted_height, a.job_id) < std::tie(b.posted_height, b.job_id);
    });
  }
  Feed(p, height);
  for (const Job& j : jobs) {
    if (ledger::IsFinal(j.status)) continue;
    if (p.kind == Kind::kLedgerHost) {
      Feed(p, node::JobChanged{j, ledger_->GetOpenDispute(j.job_id).value()});
    } else {
      Feed(p, Changed(views_[last_view[j.job_id]], j));
    }
  }
}

// The submitter (the CLI: it asks the ledger host directly, and posts again a
// job that did not make it) and two bystanders whose random transfers,
// faucet drips, stakes and unstakes go through the same network.
void World::RunClients() {
  if (!HostUp()) return;
  // One command at a time, as a user at a terminal would.
  Party& submitter = *parties_[1 + scenario_.solvers + scenario_.verifiers];
  for (PlannedJob& j : plan_) {
    if (submitter.tx_in_flight) break;
    if (now_ < j.post_tick) continue;
    auto job = ledger_->GetJob(j.op.job_id).value();
    if (!job && (j.last_post_tick == 0 || now_ >= j.last_post_tick + kRepostTicks)) {
      j.last_post_tick = now_;
      Trace("submitter posts job ", Short(j.op.job_id), " fee ", j.op.fee, " stake ", j.op.solver_stake);
      Enqueue(submitter, SendTx{j.op});
    } else if (job && j.cancel_tick && now_ >= *j.cancel_tick && !j.cancel_sent) {
      j.cancel_sent = true;
      Enqueue(submitter, SendTx{ledger::CancelJobOp{j.op.job_id}});
    }
  }
  if (!Faulty()) return;
  for (size_t b = 0; b < 2; ++b) {
    if (!rng_.Chance(60)) continue;
    Party& me = *parties_[parties_.size() - 2 + b];
    const Party& other = *parties_[parties_.size() - 1 - b];
    ledger::Operation op;
    switch (rng_.Between(0, 3)) {
      case 0:
        op = ledger::FaucetOp{rng_.Between(1, 500)};
        break;
      case 1:
        op = ledger::StakeOp{rng_.Between(1, 300)};
        break;
      case 2:
        op = ledger::UnstakeOp{rng_.Between(1, 300)};
        break;
      default:
        op = ledger::TransferOp{other.id(), rng_.Between(1, 400)};
        break;
    }
    Enqueue(me, SendTx{op});
  }
}

// Followers apply the host's blocks in order, each once it has reached them;
// while the host is down nobody can fetch any.
void World::DeliverViews() {
  if (!HostUp()) return;
  for (auto& p : parties_) {
    if (!p->up || p->kind == Kind::kLedgerHost) continue;
    while (!p->views.empty() && p->views.front().second <= now_) {
      uint64_t height = p->views.front().first;
      p->views.pop_front();
      CAIRN_ASSERT(height == p->view_height + 1);
      p->view_height = height;
      ShowBlock(*p, height);
    }
  }
}

// Node::Impl::EmitBlockEvents: every job the block touched, then the height.
void World::ShowBlock(Party& p, uint64_t height) {
  const BlockView& view = views_[height];
  for (const Job& j : view.touched) Feed(p, Changed(view, j));
  Feed(p, node::NewHeight{height, view.accounts[p.index]});
}

void World::Seal() {
  auto produced = sequencer_->ProduceBlock(kGenesisTimeMs + now_ * kBlockIntervalMs, ledger::kBlockTxsMax,
                                           /*allow_empty=*/true);
  if (!produced.ok()) {
    Violation("sealing a block failed: " + produced.status().ToString());
    return;
  }
  CAIRN_ASSERT(produced->has_value());
  const ledger::Block& block = (*produced)->block;
  const uint64_t height = block.header.height;
  CAIRN_ASSERT(height == views_.size());
  stats_.blocks++;
  stats_.mempool_dropped += (*produced)->dropped.size();
  for (const auto& d : (*produced)->dropped) Trace("mempool dropped ", Short(d.tx_id), ": ", d.reason.ToString());

  BlockView view;
  // As the node does: the block's jobs and the previous block's (whose
  // selection seed this block's start set).
  std::vector<Hash256> ids = ledger::JobsTouched(block);
  if (height > 1) {
    for (const Job& j : views_[height - 1].touched) {
      if (std::find(ids.begin(), ids.end(), j.job_id) == ids.end()) ids.push_back(j.job_id);
    }
  }
  for (const Hash256& id : ids) {
    auto job = ledger_->GetJob(id).value();
    CAIRN_ASSERT(job.has_value());
    if (trace_ && (!latest_.count(id) || latest_[id].status != job->status)) {
      Trace("block ", height, ": job ", Short(id), " ", ledger::JobStatusName(job->status), " (solver ",
            job->solver.ToHex().substr(0, 8), ", ", job->votes.size(), " votes)");
    }
    if (job->status == JobStatus::kCommitted && !committed_at_.count(id)) committed_at_[id] = height;
    if (ledger::IsFinal(job->status)) final_at_[id] = height;
    latest_[id] = *job;
    view.touched.push_back(*job);
    if (auto d = ledger_->GetOpenDispute(id).value()) view.disputes[id] = *d;
  }
  for (const auto& p : parties_) view.accounts.push_back(ledger_->GetAccount(p->id()).value());
  views_.push_back(std::move(view));
  ExamineBlock(block);
  CheckConservation();

  // The host sees its block at once; every follower after the network's delay.
  ShowBlock(host(), height);
  for (auto& p : parties_) {
    if (p->kind == Kind::kLedgerHost || !p->has_role()) continue;
    uint64_t delay = Faulty() ? rng_.Between(0, faults_.delay_ticks_max) : 0;
    p->last_view_tick = std::max(p->last_view_tick, now_ + 1 + delay);
    p->views.emplace_back(height, p->last_view_tick);
  }
}

void World::ExamineBlock(const ledger::Block& block) {
  for (const ledger::SignedTx& tx : block.txs) {
    stats_.txs++;
    if (auto* f = std::get_if<ledger::FaucetOp>(&tx.body.op)) {
      minted_ += f->amount;
    } else if (std::holds_alternative<ledger::DisputeOpenOp>(tx.body.op)) {
      stats_.disputes++;
    } else if (auto* r = std::get_if<ledger::RulingOp>(&tx.body.op)) {
      const Job& job = latest_.at(r->job_id);
      auto d = ledger_->GetDispute(r->job_id, job.disputes - 1).value();
      CAIRN_ASSERT(d.has_value());
      const Party* solver = Find(job.solver);
      const Party* challenger = Find(d->challenger);
      bool forged = Forged(job);
      // Who the ruling must favour when one side is honest (two liars may
      // fight either way: the ruling is then about their claims, not the job).
      bool honest_side = (solver && solver->honest) || (challenger && challenger->honest && !challenger->lazy);
      if (honest_side && r->solver_at_fault != forged) {
        Violation("block " + std::to_string(block.header.height) +
                  ": the referee ruled solver_at_fault=" + std::to_string(r->solver_at_fault) + " on job " +
                  Short(r->job_id) + ", the truth is " + std::to_string(forged));
      }
      if (r->solver_at_fault) {
        stats_.rulings_against_solver++;
      } else {
        stats_.rulings_for_solver++;
      }
    }
  }
}

// Every unit is somewhere: in an account, a live job's escrow or the
// jackpot; together they are the genesis total plus what the faucet minted.
void World::CheckConservation() {
  Amount accounts = 0, escrow = 0;
  Status scanned = kv_->Scan(ledger::kStateColumnFamily, "", [&](std::string_view key, std::string_view value) {
    std::string_view logical = key.substr(2);
    if (logical.rfind("a/", 0) == 0) {
      Account a = ledger::DecodeAccount(value).value();
      accounts += a.balance + a.stake_free + a.stake_bonded + a.unbonding;
    } else if (logical.rfind("j/", 0) == 0) {
      Job j = ledger::DecodeJob(value).value();
      if (!ledger::IsFinal(j.status)) {
        escrow += j.fee;
      } else if (j.fee != 0) {
        Violation("final job " + Short(j.job_id) + " still holds a fee of " + std::to_string(j.fee));
      }
    }
    return true;
  });
  CAIRN_ASSERT(scanned.ok());
  Amount jackpot = ledger_->GetJackpot().value();
  Amount supply = ledger::GetAmount(ledger::StoreStateReader(kv_.get()), ledger::kSupplyKey).value();
  Amount total = accounts + escrow + jackpot;
  if (total != genesis_total_ + minted_ || supply != genesis_total_ + minted_) {
    std::ostringstream m;
    m << "conservation broken at height " << ledger_->head().height << ": accounts " << accounts << " + escrow "
      << escrow << " + jackpot " << jackpot << " = " << total << ", genesis " << genesis_total_ << " + minted "
      << minted_ << " = " << genesis_total_ + minted_ << ", recorded supply " << supply;
    Violation(m.str());
  }
}

void World::Schedule(uint64_t tick, std::variant<Deliver, TxArrive, TxReply> message) {
  queue_.push(Scheduled{tick, next_sequence_++, std::move(message)});
}

void World::DrainQueue() {
  while (!queue_.empty() && queue_.top().tick <= now_) {
    Scheduled s = queue_.top();
    queue_.pop();
    if (auto* d = std::get_if<Deliver>(&s.message)) {
      Party& p = *parties_[d->party];
      if (p.incarnation != d->incarnation || !p.up) continue;  // Its process is gone.
      if (auto* t = std::get_if<node::TrainingFinished>(&d->event)) {
        p.training.erase(t->job_id);
        p.trained_ticks[t->job_id] = TrainingTicks(t->job_id);
      }
      Feed(p, d->event);
    } else if (auto* a = std::get_if<TxArrive>(&s.message)) {
      OnArrive(*a);
    } else {
      OnReply(std::get<TxReply>(s.message));
    }
  }
}

void World::Feed(Party& p, const Event& event) {
  if (std::holds_alternative<node::TxRefused>(event)) stats_.txs_refused++;
  if (!p.up || !p.role) return;
  for (const Action& action : p.role->OnEvent(event)) Carry(p, action);
}

bool World::WorkFails(const Party& p, const Hash256& job_id) {
  if (!Faulty() || faults_.work_failure_per_mille == 0) return false;
  uint32_t& failures = work_failures_[{p.index, job_id}];
  if (faults_.bounded && failures >= kWorkFailuresPerJobMax) return false;
  if (!rng_.Chance(faults_.work_failure_per_mille)) return false;
  failures++;
  stats_.work_failures++;
  return true;
}

// Node::Impl::Carry, with the work simulated: it takes a few ticks and its
// result is a function of the job and of who does it.
void World::Carry(Party& p, const Action& action) {
  const uint64_t inc = p.incarnation;
  if (trace_) {
    static constexpr const char* kNames[] = {"send", "fetch", "train", "verify", "rule", "prune", "move", "plant", "reveal"};
    std::string what = kNames[action.index()];
    if (auto* send = std::get_if<SendTx>(&action)) {
      what += std::string(" ") + ledger::OperationName(send->op);
      if (auto* m = std::get_if<ledger::PinpointMoveOp>(&send->op)) {
        what += " " + Short(m->job_id) + " phase " + std::to_string(m->phase) + " at " + std::to_string(m->position);
      }
    }
    if (auto* m = std::get_if<node::ComputeMove>(&action)) {
      what += " " + Short(m->job.job_id) + " " + ledger::DisputePhaseName(m->dispute.phase) + " at " +
              std::to_string(m->dispute.position);
    }
    Trace(p.name, " at height ", p.kind == Kind::kLedgerHost ? views_.size() - 1 : p.view_height, ": ", what);
  }
  if (auto* send = std::get_if<SendTx>(&action)) {
    Enqueue(p, *send);
  } else if (auto* f = std::get_if<node::FetchInputs>(&action)) {
    Status s = WorkFails(p, f->job.job_id) ? Unavailable("no holder of the inputs answered (simulated)") : Status::Ok();
    Schedule(now_ + rng_.Between(1, 3), Deliver{p.index, inc, node::InputsFetched{f->job.job_id, s}});
  } else if (auto* t = std::get_if<node::StartTraining>(&action)) {
    const Hash256& id = t->job.job_id;
    uint64_t total = TrainingTicks(id);
    uint64_t done = std::min(total, p.trained_ticks[id]);  // Resumes from its last checkpoint.
    p.training[id] = {now_, done};
    Schedule(now_ + std::max<uint64_t>(1, total - done),
             Deliver{p.index, inc, Trained(p, id, SimCheckpoints(id, ViewOf(p)))});
  } else if (auto* plant = std::get_if<node::PlantForcedError>(&action)) {
    // The trained checkpoints with checkpoint `leaf` replaced by a wrong one.
    const Hash256& id = plant->job.job_id;
    std::vector<Hash256> checkpoints = SimCheckpoints(id, ViewOf(p));
    node::ForcedErrorPlanted planted;
    planted.job_id = id;
    if (plant->leaf == 0 || plant->leaf + 1 >= checkpoints.size()) {
      Violation(p.name + " was asked to plant checkpoint " + std::to_string(plant->leaf) + " of job " + Short(id));
      planted.status = InvalidArgument("not an intermediate checkpoint");
    } else {
      const Hash256 forced = SimFlipped(checkpoints[plant->leaf]);
      twin_of_[forced] = checkpoints[plant->leaf];
      checkpoints[plant->leaf] = forced;
      node::TrainingFinished made = Trained(p, id, checkpoints);
      planted.certificate_hash = made.certificate_hash;
      planted.checkpoint_root = made.checkpoint_root;
      stats_.forced_planted++;
    }
    Schedule(now_ + 1, Deliver{p.index, inc, planted});
  } else if (auto* v = std::get_if<node::StartVerification>(&action)) {
    Schedule(now_ + (p.lazy ? 1 : rng_.Between(1, 3)), Deliver{p.index, inc, Verified(p, v->job)});
  } else if (auto* r = std::get_if<node::StartRuling>(&action)) {
    const Job& job = r->job;
    node::RulingReady ready;
    ready.job_id = job.job_id;
    if (WorkFails(p, job.job_id)) {
      ready.status = Unavailable("the disputed segments' inputs are unreachable (simulated)");
    } else {
      ready.ruling = Rule(job, r->dispute);
    }
    Schedule(now_ + rng_.Between(1, 3), Deliver{p.index, inc, ready});
  } else if (auto* m = std::get_if<node::ComputeMove>(&action)) {
    node::MoveComputed computed;
    computed.job_id = m->job.job_id;
    computed.dispute = m->dispute.index;
    computed.move = SimMove(m->dispute, ViewOf(p));
    if (WorkFails(p, m->job.job_id)) computed.status = Unavailable("the replay's inputs are unreachable (simulated)");
    Schedule(now_ + rng_.Between(1, 3), Deliver{p.index, inc, computed});
  } else if (auto* reveal = std::get_if<node::SendReveal>(&action)) {
    ledger::RevealOp op{reveal->job.job_id, reveal->secret, {}, {}, {}, {}};
    const std::vector<Hash256>* committed = CommittedCheckpoints(reveal->job);
    if (reveal->leaf != 0 && committed != nullptr && reveal->leaf < committed->size()) {
      crypto::MerkleTree tree = CheckpointTree(*committed);
      op.start_hash = (*committed)[reveal->leaf - 1];
      op.start_proof = tree.Proof(reveal->leaf - 1);
      op.end_hash = (*committed)[reveal->leaf];
      op.end_proof = tree.Proof(reveal->leaf);
    }
    Enqueue(p, SendTx{op});
  } else if (auto* prune = std::get_if<node::PruneJob>(&action)) {
    // The solver serves proofs until the job is final; pruning earlier would
    // leave verifiers and the referee without them.
    auto it = latest_.find(prune->job_id);
    if (it == latest_.end() || !ledger::IsFinal(it->second.status)) {
      Violation(p.name + " pruned job " + Short(prune->job_id) + " while it is " +
                (it == latest_.end() ? "unknown" : ledger::JobStatusName(it->second.status)));
    }
  }
}

// What a solver's training (or planting) makes of `checkpoints`: the
// certificate committing them, remembered by its root for the verifiers and
// the referee (who fetch the committed checkpoints in the real network).
node::TrainingFinished World::Trained(const Party& p, const Hash256& job_id, const std::vector<Hash256>& checkpoints) {
  crypto::MerkleTree tree = CheckpointTree(checkpoints);
  committed_[tree.root()] = checkpoints;
  node::TrainingFinished finished;
  finished.job_id = job_id;
  finished.certificate_hash = Tagged("cairn/sim/certificate/v1", tree.root(), &p.key.public_key().bytes);
  finished.checkpoint_root = tree.root();
  finished.checkpoint_count = checkpoints.size();
  finished.final_model_hash = Tagged("cairn/sim/final-model/v1", checkpoints.back());
  return finished;
}

const std::vector<Hash256>* World::CommittedCheckpoints(const Job& job) const {
  auto it = committed_.find(job.checkpoint_root);
  return it == committed_.end() ? nullptr : &it->second;
}

// A verifier's check: a lazy one accepts unchecked; an honest one replays
// every segment (but those of a revealed forced error) and disputes the
// first that disagrees; a liar disputes segment 0 of everything.
node::VerificationFinished World::Verified(const Party& p, const Job& job) {
  node::VerificationFinished finished;
  finished.job_id = job.job_id;
  if (p.lazy) {
    finished.accept = true;
    return finished;
  }
  if (WorkFails(p, job.job_id)) {
    finished.status = Unavailable("the solver's proof service did not answer (simulated)");
    return finished;
  }
  const std::vector<Hash256>* committed = CommittedCheckpoints(job);
  if (committed == nullptr) {
    Violation("job " + Short(job.job_id) + " commits checkpoint root " + Short(job.checkpoint_root) +
              ", which no simulated solver made");
    finished.status = NotFound("no such certificate (simulated)");
    return finished;
  }
  const uint64_t revealed = job.forced == ledger::ForcedError::kChecking || job.forced == ledger::ForcedError::kConfirmed
                                ? job.forced_leaf
                                : 0;
  std::optional<uint64_t> wrong;
  Hash256 end;
  if (!p.honest) {  // A liar: segment 0, with its own end state.
    wrong = 0;
    end = SimState(job.job_id, kSimSegmentSteps, ViewOf(p));
  }
  for (uint64_t seg = 0; seg + 1 < committed->size() && !wrong; ++seg) {
    if (node::ConcedesAsForced(revealed, seg)) continue;
    end = SimReplayEnd(job.job_id, seg, (*committed)[seg]);
    if (end != (*committed)[seg + 1]) wrong = seg;
  }
  finished.accept = !wrong.has_value();
  finished.report_hash = Tagged(finished.accept ? "cairn/sim/report-accept/v1" : "cairn/sim/report-reject/v1",
                                job.job_id, &p.key.public_key().bytes);
  if (wrong) {
    crypto::MerkleTree tree = CheckpointTree(*committed);
    ledger::DisputeOpenOp op;
    op.job_id = job.job_id;
    op.report_hash = finished.report_hash;
    op.segment = *wrong;
    op.begin_step = *wrong * kSimSegmentSteps;
    op.end_step = op.begin_step + kSimSegmentSteps;
    op.start_hash = (*committed)[*wrong];
    op.start_proof = tree.Proof(*wrong);
    op.end_hash = (*committed)[*wrong + 1];
    op.end_proof = tree.Proof(*wrong + 1);
    op.challenger_end_hash = end;
    finished.dispute = op;
  }
  return finished;
}

// The referee recomputes the truth of what the game left.
ledger::RulingOp World::Rule(const Job& job, const ledger::Dispute& d) {
  ledger::RulingOp ruling;
  ruling.job_id = job.job_id;
  ruling.task = static_cast<uint8_t>(d.task);
  const std::vector<Hash256>* committed = CommittedCheckpoints(job);
  if (d.task == ledger::RefereeTask::kOperator) {
    ruling.value = ledger::TraceRecordHash(SimRecord(job.job_id, d.lo_step, d.op_lo, View::kTruth));
    ruling.solver_at_fault = ruling.value != ledger::TraceRecordHash(ByteView(d.solver.record));
    ruling.op_name = "sim::op";
  } else if (d.task == ledger::RefereeTask::kStep) {
    ruling.value = SimState(job.job_id, d.hi_step, View::kTruth);
    ruling.solver_at_fault = ruling.value != d.solver_hi_hash;
  } else if (d.task == ledger::RefereeTask::kForcedCheck && committed != nullptr) {
    // As node::RecomputeRuling: the disputed segment's end from its start;
    // the committed end, and the reveal was a lie; else both segments
    // beside the forced checkpoint must replay through its honest twin.
    const uint64_t leaf = job.forced_leaf;
    ruling.value = SimReplayEnd(job.job_id, d.segment, d.lo_hash);
    bool twin_replays = false;
    auto twin = leaf > 0 && leaf + 1 < committed->size() ? twin_of_.find((*committed)[leaf]) : twin_of_.end();
    if (twin != twin_of_.end()) {
      twin_replays = SimReplayEnd(job.job_id, leaf - 1, (*committed)[leaf - 1]) == twin->second &&
                     SimReplayEnd(job.job_id, leaf, twin->second) == (*committed)[leaf + 1];
    }
    ruling.solver_at_fault = ruling.value == d.solver_hi_hash || !twin_replays;
  } else {
    ruling.solver_at_fault = Forged(job);
  }
  return ruling;
}

// Whether the job's certificate is a cheater's: only cheating solvers forge.
bool World::Forged(const Job& job) {
  const Party* solver = Find(job.solver);
  return solver != nullptr && !solver->honest;
}

uint64_t World::Latency(const Party& p) {
  if (p.kind == Kind::kLedgerHost || !Faulty()) return 0;  // The host submits to its own sequencer.
  return rng_.Between(0, faults_.delay_ticks_max);
}

bool World::DropMessage(const Party& p, int attempt) {
  if (p.kind == Kind::kLedgerHost || !Faulty() || faults_.drop_per_mille == 0) return false;
  if (faults_.bounded && attempt >= kDroppedAttemptsMax) return false;
  if (!rng_.Chance(faults_.drop_per_mille)) return false;
  stats_.messages_dropped++;
  return true;
}

void World::Enqueue(Party& p, SendTx send) {
  if (!p.up) return;
  if (node::IsUrgent(send)) {
    p.tx_queue.push_front(std::move(send));  // As Node::Impl::Carry: dispute moves first.
  } else {
    p.tx_queue.push_back(std::move(send));
  }
  PumpTx(p);
}

// Node::Impl::TxLoop: the node sends its transactions one at a time.
void World::PumpTx(Party& p) {
  if (p.tx_in_flight || p.tx_queue.empty()) return;
  p.tx_in_flight = true;
  SendTx send = std::move(p.tx_queue.front());
  p.tx_queue.pop_front();
  Schedule(now_ + Latency(p), TxArrive{p.index, p.incarnation, std::move(send), 0});
}

// One attempt of Node::Impl::SendOne, at the host: the nonce the host says
// is next, signed by the node (or the referee), submitted to the sequencer.
// A request sent before the sender crashed still arrives.
void World::OnArrive(const TxArrive& a) {
  const Party& p = *parties_[a.party];
  const uint64_t reply_tick = now_ + Latency(p);
  if (!HostUp() || DropMessage(p, a.attempt)) {
    Schedule(now_ + kRpcTimeoutTicks, TxReply{a.party, a.incarnation, a.send, a.attempt,
                                              Unavailable("deadline exceeded: the ledger host did not answer")});
    return;
  }
  const crypto::KeyPair& key = a.send.signer == node::Signer::kReferee ? referee_key_ : p.key;
  ledger::TxBody body;
  body.chain_id = genesis_.chain_id;
  body.sender = key.public_key();
  body.nonce = ledger_->NextNonce(body.sender).value();
  body.op = a.send.op;
  Status s = sequencer_->Submit(ledger::SignTx(std::move(body), key));
  if (DropMessage(p, a.attempt)) {  // Admitted or not, the sender never hears.
    Schedule(now_ + kRpcTimeoutTicks,
             TxReply{a.party, a.incarnation, a.send, a.attempt, Unavailable("deadline exceeded: the reply was lost")});
    return;
  }
  Schedule(reply_tick, TxReply{a.party, a.incarnation, a.send, a.attempt, s});
}

// The rest of SendOne: retry what retrying can fix (capped backoff), else
// report the refusal to the roles (TxLoop's TxRefused).
void World::OnReply(const TxReply& r) {
  Party& p = *parties_[r.party];
  if (p.incarnation != r.incarnation) return;  // The sender crashed; its queue died with it.
  const Status& s = r.status;
  // As node.cpp's SendOne: only an unreachable host, a full mempool and a
  // nonce race are worth retrying; every other refusal is final.
  const std::string& m = s.message();
  bool nonce_race = m.find("nonce") != std::string::npos &&
                    (m.find("out of order") != std::string::npos || m.find("already used") != std::string::npos);
  bool mempool_full = s.code() == StatusCode::kResourceExhausted && m.find("mempool") != std::string::npos;
  bool retryable = s.code() == StatusCode::kUnavailable || mempool_full || nonce_race;
  if (!s.ok() && retryable && r.attempt + 1 < kTxAttemptsMax) {
    Trace(p.name, ": ", ledger::OperationName(r.send.op), " attempt ", r.attempt + 1, ": ", s.ToString());
    uint64_t backoff = std::max<uint64_t>(1, std::min<uint64_t>(4000, 250ULL << r.attempt) / kBlockIntervalMs);
    Schedule(now_ + backoff, TxArrive{r.party, r.incarnation, r.send, r.attempt + 1});
    return;
  }
  p.tx_in_flight = false;
  if (!s.ok()) {
    auto job = ledger::JobOfOperation(r.send.op);
    Trace(p.name, ": ", ledger::OperationName(r.send.op), job ? " for job " + Short(*job) : "",
          " refused: ", s.ToString());
    Feed(p, node::TxRefused{job.value_or(Hash256{}), ledger::OperationName(r.send.op), s});
  }
  PumpTx(p);
}

bool World::AllFinal() {
  if (!HostUp()) return false;
  for (const PlannedJob& j : plan_) {
    auto it = latest_.find(j.op.job_id);
    if (it == latest_.end() || !ledger::IsFinal(it->second.status)) return false;
  }
  return true;
}

Party* World::Find(const AccountId& id) {
  for (auto& p : parties_) {
    if (p->id() == id) return p.get();
  }
  return nullptr;
}

void World::CheckOutcome() {
  const ledger::Params& params = genesis_.params;
  if (!HostUp()) Restart(host());

  // Every job is final, and the stored ledger audits clean.
  std::map<Hash256, std::pair<const PlannedJob*, Job>> jobs;
  for (const PlannedJob& j : plan_) {
    auto job = ledger_->GetJob(j.op.job_id).value();
    if (!job) {
      Violation("job " + Short(j.op.job_id) + " was never posted");
      continue;
    }
    if (!ledger::IsFinal(job->status)) {
      Violation("job " + Short(j.op.job_id) + " is still " + ledger::JobStatusName(job->status) + " at tick " +
                std::to_string(now_) + ", " + std::to_string(now_ - scenario_.active_ticks) + " quiet ticks in");
    }
    jobs.emplace(j.op.job_id, std::make_pair(&j, *job));
  }
  auto audit = ledger::AuditLedger(*kv_);
  if (!audit.ok()) Violation("ledger audit: " + audit.status().ToString());

  // What the rules pay each party, from the final jobs and the rulings.
  // Jackpot prizes (a share of the jackpot as it stood at the ruling) are
  // the one amount not recomputed here: the parties entitled to one are
  // collected, and what they hold beyond the rest must add up to what the
  // jackpot paid out.
  struct Expected {
    int64_t balance = 0, stake = 0;
  };
  std::map<AccountId, Expected> expected;
  for (const auto& p : parties_) {
    expected[p->id()] = {static_cast<int64_t>(p->genesis_balance), static_cast<int64_t>(p->genesis_stake)};
  }
  int64_t jackpot = static_cast<int64_t>(genesis_.jackpot);
  std::map<AccountId, uint32_t> prizes;  // Prizes each party is owed.
  auto credit = [&](const AccountId& id, Amount a) { expected[id].balance += static_cast<int64_t>(a); };
  auto slash = [&](const AccountId& id, Amount a) { expected[id].stake -= static_cast<int64_t>(a); };
  // A lost bond: the challenger's share to `winner` (none: all of it) and the rest to the jackpot.
  auto slash_to = [&](const AccountId& offender, Amount bond, const AccountId* winner) {
    slash(offender, bond);
    Amount reward = winner ? Share(bond, params.challenger_reward_bps) : 0;
    if (winner) credit(*winner, reward);
    jackpot += static_cast<int64_t>(bond - reward);
  };
  // PayOut's verifier share: split among the accepts; returns what they got.
  auto pay_acceptors = [&](const Job& job, Amount fee) {
    std::vector<AccountId> acceptors;
    for (const ledger::Vote& v : job.votes) {
      if (v.accept) acceptors.push_back(v.verifier);
    }
    Amount each = acceptors.empty() ? 0 : Share(fee, params.verifier_share_bps) / acceptors.size();
    for (const AccountId& a : acceptors) credit(a, each);
    return each * acceptors.size();
  };
  std::vector<FalseChallenge> false_challenges;
  for (const auto& [id, entry] : jobs) {
    const auto& [planned, job] = entry;
    const Amount fee = planned->op.fee, bond = planned->op.solver_stake;
    std::vector<ledger::Dispute> disputes;
    for (uint32_t i = 0; i < job.disputes; ++i) {
      auto d = ledger_->GetDispute(id, i).value();
      if (d) disputes.push_back(std::move(*d));
    }
    // How each resolved dispute came out.
    enum class Outcome { kOpen, kForSolver, kAgainstSolver, kForcedConfirmed, kForcedMasked, kForcedRefuted };
    auto outcome = [&](const ledger::Dispute& d) {
      if (d.phase != ledger::DisputePhase::kResolved) return Outcome::kOpen;
      if (d.task != ledger::RefereeTask::kForcedCheck) {
        return d.solver_at_fault ? Outcome::kAgainstSolver : Outcome::kForSolver;
      }
      if (!d.solver_at_fault) return Outcome::kForcedConfirmed;
      return SimReplayEnd(id, d.segment, d.lo_hash) == d.solver_hi_hash ? Outcome::kForcedRefuted
                                                                        : Outcome::kForcedMasked;
    };
    auto caught = [](const ledger::Dispute& d) { return d.challenger != AccountId{}; };
    // Slashed accepts: each goes to the first dispute whose ruling costs it its bond.
    std::vector<uint32_t> exposed(disputes.size(), 0);
    for (const ledger::Vote& v : job.votes) {
      if (v.accept || v.bond != 0) continue;
      std::optional<size_t> by;
      for (size_t i = 0; i < disputes.size() && !by; ++i) {
        const ledger::Dispute& d = disputes[i];
        Outcome o = outcome(d);
        bool forced = o == Outcome::kForcedConfirmed || o == Outcome::kForcedMasked;
        bool real = o == Outcome::kAgainstSolver && job.exact_replay && d.resolution.rfind("ruling:", 0) == 0;
        if ((forced && ledger::AuditCovers(job, v.verifier, params.audited_segments, job.forced_leaf)) ||
            (real && ledger::AuditIncludes(job, v.verifier, params.audited_segments, d.segment))) {
          by = i;
        }
      }
      if (!by) {
        Violation("job " + Short(id) + " holds a slashed accept that no ruling explains");
        continue;
      }
      const ledger::Dispute& d = disputes[*by];
      Outcome o = outcome(d);
      const bool forced = o == Outcome::kForcedConfirmed || o == Outcome::kForcedMasked;
      const bool earned = caught(d) && (!forced || SimReplayEnd(id, d.segment, d.lo_hash) == d.challenger_hi_hash);
      slash(v.verifier, kVerifierBond);
      if (earned) {
        credit(d.challenger, kVerifierBond);
      } else {
        jackpot += static_cast<int64_t>(kVerifierBond);
      }
      exposed[*by]++;
      stats_.accepts_slashed++;
      const Party* acceptor = Find(v.verifier);
      if (acceptor && acceptor->honest) Violation("honest " + acceptor->name + "'s accept of job " + Short(id) + " was slashed");
    }
    for (size_t i = 0; i < disputes.size(); ++i) {
      const ledger::Dispute& d = disputes[i];
      switch (outcome(d)) {
        case Outcome::kForSolver:
          false_challenges.push_back({id, d.challenger, job.solver});
          break;
        case Outcome::kAgainstSolver:
          if (caught(d) && exposed[i] > 0) prizes[d.challenger]++;
          break;
        case Outcome::kForcedMasked:
          if (caught(d) && exposed[i] > 0 && SimReplayEnd(id, d.segment, d.lo_hash) == d.challenger_hi_hash) {
            prizes[d.challenger]++;
          }
          stats_.forced_masked++;
          break;
        case Outcome::kForcedConfirmed:
          if (caught(d) && SimReplayEnd(id, d.segment, d.lo_hash) == d.challenger_hi_hash) {
            prizes[d.challenger]++;
            stats_.forced_caught++;
          }
          break;
        case Outcome::kForcedRefuted:
          Violation("job " + Short(id) + ": the solver revealed a forced error it never made");
          if (caught(d)) slash_to(d.challenger, d.bond, nullptr);
          break;
        case Outcome::kOpen:
          break;
      }
    }
    const ledger::Dispute* last = disputes.empty() ? nullptr : &disputes.back();
    switch (job.status) {
      case JobStatus::kSettled: {
        stats_.settled++;
        if (job.forced == ledger::ForcedError::kConfirmed) stats_.forced_confirmed++;
        expected[job.submitter].balance -= static_cast<int64_t>(fee);
        Amount tax = Share(fee, params.jackpot_tax_bps);
        for (const ledger::Vote& v : job.votes) {
          if (!v.accept && v.bond != 0) Violation("settled job " + Short(id) + " holds a rejecting verdict");
        }
        credit(job.solver, fee - tax - pay_acceptors(job, fee));
        jackpot += static_cast<int64_t>(tax);
        break;
      }
      case JobStatus::kFailed: {
        stats_.failed++;
        Outcome o = last ? outcome(*last) : Outcome::kOpen;
        if (o == Outcome::kAgainstSolver || o == Outcome::kForcedMasked) {
          // Lost a dispute: the challenger's share of the bond (of a mask:
          // only to a challenger that replayed), the fee refunded.
          const bool earned = caught(*last) && (o == Outcome::kAgainstSolver ||
                                                SimReplayEnd(id, last->segment, last->lo_hash) == last->challenger_hi_hash);
          slash_to(job.solver, bond, earned ? &last->challenger : nullptr);
          if (caught(*last) && (job.votes.empty() || job.votes.back().verifier != last->challenger)) {
            Violation("failed job " + Short(id) + ": its last vote is not the winning challenger's");
          }
        } else if (o == Outcome::kForcedRefuted) {
          slash_to(job.solver, bond, nullptr);
        } else if (job.forced == ledger::ForcedError::kUnrevealed) {
          // Never revealed: the bond to the jackpot, the acceptors paid, the rest refunded.
          slash_to(job.solver, bond, nullptr);
          expected[job.submitter].balance -= static_cast<int64_t>(pay_acceptors(job, fee));
        } else {
          Violation("failed job " + Short(id) + " lost no dispute and revealed its secret");
        }
        break;
      }
      case JobStatus::kExpired:
        stats_.expired++;
        if (job.claimed_height != 0) {  // Claimed and never committed: the bond is forfeit.
          slash(job.solver, bond);
          jackpot += static_cast<int64_t>(bond);
        }
        break;
      case JobStatus::kCancelled:
        stats_.cancelled++;
        break;
      default:
        break;
    }
  }
  for (const FalseChallenge& c : false_challenges) {
    slash_to(c.challenger, params.verifier_stake_min, &c.solver);
    const Party* challenger = Find(c.challenger);
    if (challenger && challenger->honest) {
      Violation("honest " + challenger->name + " was slashed for challenging job " + Short(c.job_id));
    }
  }
  // No prize can exceed the share of everything there is (the jackpot
  // mid-block is not observable; what the prizes add up to is checked below).
  const Amount prize_bound = Share(genesis_total_ + minted_, params.jackpot_payout_bps);
  int64_t prizes_paid = 0;
  for (const auto& p : parties_) {
    if (p->kind != Kind::kSolver && p->kind != Kind::kVerifier && p->kind != Kind::kSubmitter) continue;
    Account a = ledger_->GetAccount(p->id()).value();
    const Expected& e = expected[p->id()];
    int64_t stake = static_cast<int64_t>(a.stake_free + a.stake_bonded + a.unbonding);
    const int64_t beyond = static_cast<int64_t>(a.balance) - e.balance;
    const uint32_t owed = prizes.count(p->id()) ? prizes[p->id()] : 0;
    const int64_t prize_max = static_cast<int64_t>(owed) * static_cast<int64_t>(prize_bound);
    if (beyond < 0 || beyond > prize_max || stake != e.stake || a.stake_bonded != 0) {
      std::ostringstream m;
      m << p->name << " holds balance " << a.balance << ", stake " << stake << " (" << a.stake_bonded
        << " bonded); the rules pay it balance " << e.balance;
      if (owed > 0) m << " plus " << owed << " jackpot prize(s)";
      m << ", stake " << e.stake << " (0 bonded)";
      Violation(m.str());
    }
    prizes_paid += beyond;
    if (p->kind == Kind::kVerifier && p->honest && stake != static_cast<int64_t>(p->genesis_stake)) {
      Violation("honest " + p->name + " lost stake: " + std::to_string(stake) + " of " +
                std::to_string(p->genesis_stake));
    }
  }
  if (static_cast<int64_t>(ledger_->GetJackpot().value()) != jackpot - prizes_paid) {
    Violation("jackpot holds " + std::to_string(ledger_->GetJackpot().value()) + ", the rules put " +
              std::to_string(jackpot) + " in it and " + std::to_string(prizes_paid) + " was paid out in prizes");
  }

  // Honest solvers are paid, forged certificates are caught.
  for (const auto& [id, entry] : jobs) {
    const Job& job = entry.second;
    if (job.claimed_height == 0) continue;
    const Party* solver = Find(job.solver);
    CAIRN_ASSERT(solver != nullptr && solver->kind == Kind::kSolver);
    if (solver->honest) {
      if (job.status == JobStatus::kFailed || (faults_.bounded && job.status != JobStatus::kSettled)) {
        Violation("honest " + solver->name + " claimed job " + Short(id) + " and it ended " +
                  ledger::JobStatusName(job.status) + ", not settled");
      }
    } else if (!job.certificate_hash.IsZero()) {  // A forged certificate was committed.
      if (job.status == JobStatus::kFailed) stats_.cheats_caught++;
      if (job.status == JobStatus::kSettled && (scenario_.anchor_verifier || faults_.bounded)) {
        Violation("job " + Short(id) + " settled on " + solver->name + "'s forged certificate");
      } else if (job.status != JobStatus::kFailed && scenario_.anchor_verifier && faults_.bounded) {
        Violation("job " + Short(id) + " with " + solver->name + "'s forged certificate ended " +
                  ledger::JobStatusName(job.status) + ", not failed, though an honest verifier was up throughout");
      }
    }
  }

  if (scenario_.check_idle_solvers) {
    std::map<Hash256, Job> final_jobs;
    for (const auto& [id, entry] : jobs) final_jobs.emplace(id, entry.second);
    CheckIdleSolvers(final_jobs);
  }

  // Every node saw every block and let go of every final job.
  for (const auto& p : parties_) {
    if (p->kind == Kind::kSolver && p->up && p->role) {
      const auto* roles = static_cast<const Roles*>(p->role.get());
      size_t active = static_cast<const node::SolverRole*>(roles->first())->active_jobs();
      if (active != 0) Violation(p->name + " still tracks " + std::to_string(active) + " jobs, all final");
    }
  }
}

// A job a solver can afford must not expire unclaimed while that solver
// stands idle for part of its claim window: a solver has to take work that
// is waiting, not only work that is posted while it happens to be free.
// Meaningful without faults only (a crashed or lagging solver is excused).
void World::CheckIdleSolvers(const std::map<Hash256, Job>& jobs) {
  CAIRN_ASSERT(faults_.crash_per_mille == 0 && faults_.delay_ticks_max == 0 && faults_.drop_per_mille == 0);
  CAIRN_ASSERT(scenario_.solver_jobs_max == 1);  // One job at a time: busy or idle.
  for (const auto& p : parties_) {
    if (p->kind != Kind::kSolver || !p->honest) continue;
    // Heights at which the solver was training (claim landed, commit not yet).
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (const auto& [id, job] : jobs) {
      if (job.claimed_height == 0 || job.solver != p->id()) continue;
      auto c = committed_at_.find(id);
      busy.emplace_back(job.claimed_height, c != committed_at_.end() ? c->second : final_at_.at(id));
    }
    for (const auto& [id, job] : jobs) {
      if (job.status != JobStatus::kExpired || job.claimed_height != 0) continue;
      if (job.solver_stake > p->genesis_stake / 4) continue;  // Stake it may have bonded elsewhere.
      // Idle from the block after the post (it sees the job, then claims) until
      // kIdleMarginBlocks before the deadline (time for its claim to land).
      uint64_t run = 0, best_from = 0, best_run = 0;
      for (uint64_t h = job.posted_height + 1; h + kIdleMarginBlocks <= job.claim_deadline_height; ++h) {
        bool training = false;
        for (const auto& [from, to] : busy) training = training || (h >= from && h <= to);
        run = training ? 0 : run + 1;
        if (run > best_run) {
          best_run = run;
          best_from = h + 1 - run;
        }
      }
      if (best_run >= kIdleMarginBlocks) {
        Violation("job " + Short(id) + " (posted at height " + std::to_string(job.posted_height) + ", claims until " +
                  std::to_string(job.claim_deadline_height) + ") expired unclaimed while " + p->name +
                  " stood idle at heights " + std::to_string(best_from) + ".." +
                  std::to_string(best_from + best_run - 1));
      }
    }
  }
}

}  // namespace

void RunStats::Add(const RunStats& o) {
  blocks += o.blocks;
  txs += o.txs;
  txs_refused += o.txs_refused;
  messages_dropped += o.messages_dropped;
  mempool_dropped += o.mempool_dropped;
  crashes += o.crashes;
  host_crashes += o.host_crashes;
  work_failures += o.work_failures;
  disputes += o.disputes;
  rulings_against_solver += o.rulings_against_solver;
  rulings_for_solver += o.rulings_for_solver;
  settled += o.settled;
  failed += o.failed;
  expired += o.expired;
  cancelled += o.cancelled;
  cheats_caught += o.cheats_caught;
  forced_planted += o.forced_planted;
  forced_confirmed += o.forced_confirmed;
  forced_caught += o.forced_caught;
  forced_masked += o.forced_masked;
  accepts_slashed += o.accepts_slashed;
  ticks += o.ticks;
}

std::string RunStats::ToString() const {
  std::ostringstream s;
  s << blocks << " blocks, " << txs << " txs (" << txs_refused << " refused, " << mempool_dropped
    << " dropped from the mempool), " << messages_dropped << " messages lost, " << crashes << " crashes + "
    << host_crashes << " of the host, " << work_failures << " work failures, " << disputes << " disputes ("
    << rulings_against_solver << " against the solver, " << rulings_for_solver << " for), jobs: " << settled
    << " settled, " << failed << " failed, " << expired << " expired, " << cancelled << " cancelled; " << cheats_caught
    << " forged certificates caught; forced errors: " << forced_planted << " planted, " << forced_confirmed
    << " confirmed (" << forced_caught << " caught for the prize), " << forced_masked << " masking a fake; "
    << accepts_slashed << " accepts slashed";
  return s.str();
}

RunReport RunSimulation(const Scenario& scenario, uint64_t seed) { return World(scenario, seed).Run(); }

}  // namespace cairn::sim
