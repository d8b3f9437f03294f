#include "node/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "config/genesis_config.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/clients.h"
#include "net/rpc_server.h"
#include "node/blob_store.h"
#include "node/height_watch.h"
#include "node/inbox.h"
#include "node/job_work.h"
#include "node/metrics.h"
#include "node/roles/disputant_role.h"
#include "node/roles/ledger_host_role.h"
#include "node/roles/solver_role.h"
#include "node/roles/verifier_role.h"
#include "node/roles/whistleblower_role.h"
#include "store/rocksdb_store.h"
#include "util/file.h"

namespace cairn::node {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kInboxCapacity = 10'000;
constexpr unsigned kWorkThreads = 4;
constexpr int kTxAttemptsMax = 6;
// Transactions the sender takes from its queue for one SubmitTxs call
// (within net's kSubmitTxsCountMax; the client splits by bytes).
constexpr size_t kTxsPerBatchMax = 64;

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

// A fixed pool of threads for long work (fetching, training, replaying).
class WorkPool {
 public:
  explicit WorkPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkPool() { Stop(); }
  void Post(std::function<void()> work) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(work));
    cv_.notify_one();
  }
  // Waits up to `timeout` for running work; true if every thread finished.
  bool Stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      queue_.clear();
      cv_.notify_all();
    }
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && busy_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (busy_ > 0) {
      for (auto& t : threads_) t.detach();  // Abandoned: the process is exiting.
      threads_.clear();
      return false;
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
    return true;
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> work;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        work = std::move(queue_.front());
        queue_.pop_front();
        busy_++;
      }
      work();
      busy_--;
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::atomic<int> busy_{0};
  bool stopping_ = false;
};

}  // namespace

struct Node::Impl {
  config::NodeConfig config;
  NodeOptions options;
  std::atomic<bool> stop{false};

  // 1. identity (a KeyPair has no empty state: set by StartIdentity)
  std::optional<crypto::KeyPair> node_key;
  std::optional<crypto::KeyPair> referee_key;
  ledger::Genesis genesis;
  // 2-3. store and ledger
  std::unique_ptr<store::RocksDbStore> kv;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::Sequencer> sequencer;
  HeightWatch heights;
  // 4. blobs and work
  std::optional<BlobStore> blobs;
  std::unique_ptr<net::GrpcPeerClient> peers;
  std::unique_ptr<net::GrpcLedgerClient> ledger_client;  // Followers: the ledger host.
  std::unique_ptr<JobWork> work;
  // 5. metrics
  std::unique_ptr<Metrics> metrics;
  // 6. RPC
  std::unique_ptr<net::RpcServer> server;
  std::string endpoint;
  // 7. roles
  std::vector<std::unique_ptr<Role>> roles;
  std::vector<Hash256> previous_touched;  // Event thread (EmitBlockEvents) only.
  // 8. threads
  Inbox<Event> inbox{kInboxCapacity};
  Inbox<SendTx> tx_queue{kInboxCapacity};
  std::unique_ptr<WorkPool> pool;
  std::thread event_thread, tx_thread, chain_thread;

  Status StartIdentity();
  Status StartLedger();
  Status StartWork();
  Status StartServer();
  void StartRoles();
  void StartThreads();
  void Shutdown();

  void EventLoop();
  void TxLoop();
  void ProduceBlocks();
  void FollowLedger();
  // Events for a block just applied (this node's view).
  void EmitBlockEvents(const ledger::Block& block);
  void EmitInitialEvents();
  NewHeight HeightEvent();
  // A job's JobChanged, with its open dispute read from this node's ledger.
  JobChanged ChangedEvent(const ledger::Job& job);
  void Carry(const Action& action);
  // Sends `sends` in order and retries what retrying can fix, each with at
  // most kTxAttemptsMax attempts; results[i] is the final outcome of sends[i].
  std::vector<Status> SendBatch(const std::vector<SendTx>& sends);
};

Node::Node() : impl_(std::make_unique<Impl>()) {}

Node::~Node() {
  if (impl_) impl_->Shutdown();
}

const std::string& Node::endpoint() const { return impl_->endpoint; }

void Node::RequestStop() { impl_->stop = true; }

Result<std::unique_ptr<Node>> Node::Start(const config::NodeConfig& config, NodeOptions options) {
  std::unique_ptr<Node> node(new Node());
  Impl& n = *node->impl_;
  n.config = config;
  n.options = std::move(options);
  spdlog::info("cairn node starting: roles{}{}{}, data {}", config.ledger_host ? " ledger-host" : "",
               config.solver ? " solver" : "", config.verifier ? " verifier" : "", config.data_dir);
  CAIRN_RETURN_IF_ERROR(n.StartIdentity().WithContext("step 1 (identity)"));
  CAIRN_RETURN_IF_ERROR(n.StartLedger().WithContext("step 2-3 (store and ledger)"));
  CAIRN_RETURN_IF_ERROR(n.StartWork().WithContext("step 4 (blobs and work directories)"));
  auto metrics = Metrics::Start(config.metrics_listen);
  if (!metrics.ok()) return metrics.status().WithContext("step 5 (metrics)");
  n.metrics = std::move(metrics).value();
  n.work = std::make_unique<JobWork>(JobWork::Context{&n.config, &*n.node_key, n.ledger.get(), &*n.blobs, n.peers.get(),
                                                      n.metrics.get(),
                                                      config.ledger_host ? "" : config.ledger_host_address,
                                                      n.options.binary});
  CAIRN_RETURN_IF_ERROR(n.StartServer().WithContext("step 6 (RPC server)"));
  n.StartRoles();
  n.StartThreads();
  spdlog::info("cairn node up: {} at {}, height {}", n.node_key->public_key().ToHex().substr(0, 16), n.endpoint,
               n.ledger->head().height);
  return node;
}

Status Node::Impl::StartIdentity() {
  CAIRN_ASSIGN_OR_RETURN(auto k, crypto::ReadKeyFile(config.key_file));
  node_key = std::move(k);
  if (!config.referee_key_file.empty()) {
    CAIRN_ASSIGN_OR_RETURN(auto referee, crypto::ReadKeyFile(config.referee_key_file));
    referee_key = std::move(referee);
  }
  CAIRN_ASSIGN_OR_RETURN(genesis, config::LoadGenesisFile(config.genesis_file));
  if (config.ledger_host && genesis.sequencer != node_key->public_key()) {
    return PermissionDenied(config.key_file + " is not the sequencer key of " + config.genesis_file +
                            " (the ledger host signs blocks with it)");
  }
  if (referee_key && referee_key->public_key() != genesis.referee) {
    return PermissionDenied(config.referee_key_file + " is not the referee key of " + config.genesis_file);
  }
  // Adversarial hook (issue 8): cheat modes run on devnet and test chains only.
  CAIRN_RETURN_IF_ERROR(config::CheckCheatsAllowed(config, genesis));
  return Status::Ok();
}

Status Node::Impl::StartLedger() {
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(config.data_dir));
  CAIRN_ASSIGN_OR_RETURN(kv, store::RocksDbStore::Open(config.data_dir + "/ledger", ledger::LedgerColumnFamilies()));
  CAIRN_ASSIGN_OR_RETURN(ledger, ledger::Ledger::Open(kv.get(), &genesis));
  heights.Publish(ledger->head().height);
  if (config.ledger_host) {
    sequencer = std::make_unique<ledger::Sequencer>(ledger.get(), &*node_key, ledger::SequencerOptions{true, store::SyncPolicy::kSync});
    std::vector<ledger::DroppedTx> dropped;
    CAIRN_ASSIGN_OR_RETURN(size_t recovered, sequencer->Recover(&dropped));
    if (recovered + dropped.size() > 0) {
      spdlog::info("mempool: {} transactions recovered, {} no longer valid", recovered, dropped.size());
    }
  } else {
    ledger_client = std::make_unique<net::GrpcLedgerClient>(config.ledger_host_address);
  }
  return Status::Ok();
}

Status Node::Impl::StartWork() {
  CAIRN_ASSIGN_OR_RETURN(auto store, BlobStore::Open(config.data_dir + "/blobs"));
  blobs.emplace(std::move(store));
  CAIRN_RETURN_IF_ERROR(util::MakeDirsDurable(config.data_dir + "/solver"));
  peers = std::make_unique<net::GrpcPeerClient>();
  return Status::Ok();
}

Status Node::Impl::StartServer() {
  net::RpcServices s;
  s.ledger = ledger.get();
  s.sequencer = sequencer.get();
  s.heights = &heights;
  s.ledger_host = config.ledger_host_address;
  Metrics* m = metrics.get();
  s.on_submit = [m](const Status& st) { m->CountTx("received", st.ok()); };
  s.blobs = &*blobs;
  s.blob_options.chain_id = genesis.chain_id;
  ledger::Ledger* l = ledger.get();
  if (config.ledger_host) {
    s.blob_options.may_upload = [l](const crypto::PublicKey& who) {
      auto a = l->GetAccount(who);
      return a.ok() && (a->balance > 0 || a->stake_free > 0 || a->stake_bonded > 0);
    };
  }
  s.proofs = work.get();
  net::RpcServerOptions o;
  o.listen = config.listen;
  CAIRN_ASSIGN_OR_RETURN(server, net::RpcServer::Start(o, s));
  if (!config.advertise.empty()) {
    endpoint = config.advertise;
  } else {
    endpoint = config.listen.substr(0, config.listen.rfind(':')) + ":" + std::to_string(server->port());
  }
  // Scripts and `cairn devnet` read where the node listens (port 0 picks one).
  return util::WriteFileAtomic(config.data_dir + "/node.addr", ByteView(std::string_view(endpoint + "\n")));
}

void Node::Impl::StartRoles() {
  const ledger::AccountId me = node_key->public_key();
  // The forced-error secret derives from the node's key: stable across
  // restarts, unknown to anyone else.
  crypto::Signature sig = node_key->Sign(ByteView(std::string_view("cairn/forced-error-secret/v1")));
  const Hash256 solver_secret = crypto::Blake2b256(ByteView(sig.bytes));
  if (config.ledger_host) {
    LedgerHostPolicy p;
    p.referee = referee_key.has_value();
    p.reveal_window_blocks = genesis.params.reveal_window_blocks;
    roles.push_back(std::make_unique<LedgerHostRole>(p));
  }
  if (config.solver) {
    SolverPolicy p;
    p.fee_min = config.solver_fee_min;
    p.stake_max = config.solver_stake_max;
    p.jobs_max = config.solver_jobs_max;
    // The forced-error secret derives from the node's key: stable across
    // restarts, unknown to anyone else.
    p.secret = solver_secret;
    p.forced_error_bps = genesis.params.forced_error_bps;
    roles.push_back(std::make_unique<SolverRole>(me, p));
  }
  if (config.verifier) {
    VerifierPolicy p;
    p.bond = genesis.params.verifier_stake_min;
    p.sample_bps = genesis.params.verifier_sample_bps;
    p.challenge = config.verifier_challenge;
    roles.push_back(std::make_unique<VerifierRole>(me, p));
  }
  if (config.whistleblower) {
    WhistleblowerPolicy p;
    p.bond = genesis.params.verifier_stake_min;
    p.audited_segments = genesis.params.audited_segments;
    roles.push_back(std::make_unique<WhistleblowerRole>(me, p));
  }
  if (config.solver || config.verifier || config.whistleblower) {
    DisputantPolicy p;
    if (config.solver) p.solver_secret = solver_secret;
    p.forced_error_bps = genesis.params.forced_error_bps;
    roles.push_back(std::make_unique<DisputantRole>(me, p));
  }
}

JobChanged Node::Impl::ChangedEvent(const ledger::Job& job) {
  JobChanged e{job, std::nullopt};
  if (job.status == ledger::JobStatus::kDisputed) {
    auto d = ledger->GetOpenDispute(job.job_id);
    if (d.ok()) e.dispute = *d;
  }
  return e;
}

NewHeight Node::Impl::HeightEvent() {
  NewHeight h;
  h.height = ledger->head().height;
  auto a = ledger->GetAccount(node_key->public_key());
  if (a.ok()) h.account = *a;
  return h;
}

void Node::Impl::EmitInitialEvents() {
  inbox.Push(HeightEvent());
  std::map<std::string, size_t> by_state;
  std::vector<Hash256> ids;
  (void)ledger->ListJobs([&](const Hash256& id, uint64_t) {
    ids.push_back(id);
    return true;
  });
  for (const Hash256& id : ids) {
    auto job = ledger->GetJob(id);
    if (!job.ok() || !*job) continue;
    by_state[ledger::JobStatusName((*job)->status)]++;
    if (!ledger::IsFinal((*job)->status)) inbox.Push(ChangedEvent(**job));
  }
  for (const auto& [state, count] : by_state) metrics->SetJobs(state, count);
}

void Node::Impl::EmitBlockEvents(const ledger::Block& block) {
  heights.Publish(block.header.height);
  metrics->SetHeight(block.header.height);
  if (sequencer) metrics->SetMempool(sequencer->mempool_size());
  // The jobs this block's transactions touched, and those of the block
  // before: BeginBlock changed them here (their verifier selection seed).
  std::vector<Hash256> touched = ledger::JobsTouched(block);
  std::vector<Hash256> both = touched;
  for (const Hash256& id : previous_touched) {
    if (std::find(both.begin(), both.end(), id) == both.end()) both.push_back(id);
  }
  previous_touched = std::move(touched);
  for (const Hash256& id : both) {
    auto job = ledger->GetJob(id);
    if (job.ok() && *job) inbox.Push(ChangedEvent(**job));
  }
  inbox.Push(HeightEvent());
}

void Node::Impl::StartThreads() {
  pool = std::make_unique<WorkPool>(kWorkThreads);
  EmitInitialEvents();
  // Devnet funding and the endpoint announcement go first, in order.
  auto account = ledger->GetAccount(node_key->public_key());
  if (config.devnet_faucet > 0 && account.ok() && account->balance + account->stake_free < config.devnet_faucet) {
    tx_queue.Push(SendTx{ledger::FaucetOp{config.devnet_faucet}});
  }
  if (config.devnet_stake > 0 && account.ok() && account->stake_free + account->stake_bonded < config.devnet_stake) {
    tx_queue.Push(SendTx{ledger::StakeOp{config.devnet_stake - account->stake_free - account->stake_bonded}});
  }
  auto announced = ledger->GetEndpoint(node_key->public_key());
  if (!announced.ok() || announced->value_or("") != endpoint) tx_queue.Push(SendTx{ledger::AnnounceOp{endpoint}});
  tx_thread = std::thread([this] { TxLoop(); });
  event_thread = std::thread([this] { EventLoop(); });
  chain_thread = std::thread([this] { config.ledger_host ? ProduceBlocks() : FollowLedger(); });
}

void Node::Impl::EventLoop() {
  while (!stop) {
    auto event = inbox.Pop(std::chrono::milliseconds(200));
    if (!event) continue;
    for (auto& role : roles) {
      for (const Action& action : role->OnEvent(*event)) Carry(action);
    }
  }
}

void Node::Impl::Carry(const Action& action) {
  Impl* self = this;
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, SendTx>) {
          tx_queue.Push(a, IsUrgent(a));
        } else if constexpr (std::is_same_v<A, FetchInputs>) {
          ledger::Job job = a.job;
          pool->Post([self, job] { self->inbox.Push(InputsFetched{job.job_id, self->work->FetchInputs(job)}); });
        } else if constexpr (std::is_same_v<A, StartTraining>) {
          ledger::Job job = a.job;
          pool->Post([self, job] { self->inbox.Push(self->work->Train(job)); });
        } else if constexpr (std::is_same_v<A, StartVerification>) {
          StartVerification v = a;
          pool->Post([self, v] { self->inbox.Push(self->work->Verify(v.job, v.segments, v.own_replica)); });
        } else if constexpr (std::is_same_v<A, PlantForcedError>) {
          PlantForcedError p = a;
          pool->Post([self, p] { self->inbox.Push(self->work->PlantForcedError(p.job, p.leaf)); });
        } else if constexpr (std::is_same_v<A, SendReveal>) {
          auto reveal = work->BuildReveal(a.job, a.secret, a.leaf);
          if (reveal.ok()) {
            SendTx send{*reveal};
            tx_queue.Push(send, IsUrgent(send));
          } else {
            spdlog::warn("job {}: cannot reveal the forced-error secret: {}", a.job.job_id.ToHex().substr(0, 16),
                         reveal.status().ToString());
          }
        } else if constexpr (std::is_same_v<A, StartRuling>) {
          StartRuling r = a;
          pool->Post([self, r] { self->inbox.Push(self->work->Rule(r.job, r.dispute)); });
        } else if constexpr (std::is_same_v<A, ComputeMove>) {
          ComputeMove m = a;
          pool->Post([self, m] { self->inbox.Push(self->work->ComputeMove(m.job, m.dispute, m.party)); });
        } else if constexpr (std::is_same_v<A, PruneJob>) {
          Hash256 id = a.job_id;
          pool->Post([self, id] { self->work->Prune(id); });
        }
      },
      action);
}

namespace {

// Whether retrying can fix a refusal: an unreachable host, a full mempool,
// and a nonce raced by one of our own transactions still in flight. Every
// other refusal is the ledger's rules speaking: final.
bool Retryable(const Status& s) {
  const std::string& m = s.message();
  bool nonce_race = m.find("nonce") != std::string::npos &&
                    (m.find("out of order") != std::string::npos || m.find("already used") != std::string::npos);
  bool mempool_full = s.code() == StatusCode::kResourceExhausted && m.find("mempool") != std::string::npos;
  return s.code() == StatusCode::kUnavailable || mempool_full || nonce_race;
}

}  // namespace

std::vector<Status> Node::Impl::SendBatch(const std::vector<SendTx>& sends) {
  std::vector<Status> results(sends.size(), Unavailable("not sent: the node is stopping"));
  std::vector<int> attempts(sends.size(), 0);
  std::vector<size_t> pending(sends.size());
  for (size_t i = 0; i < sends.size(); ++i) pending[i] = i;
  while (!pending.empty() && !stop) {
    auto started = Clock::now();
    // Consecutive nonces per sending account (the node and referee keys may
    // be one account) from the next one the host reports (counting its
    // mempool), in queue order.
    std::vector<std::pair<ledger::AccountId, Result<uint64_t>>> nonces;
    std::vector<ledger::SignedTx> txs;
    std::vector<size_t> sent;  // txs[k] is sends[sent[k]].
    for (size_t i : pending) {
      const crypto::KeyPair& signer = sends[i].signer == Signer::kReferee ? *referee_key : *node_key;
      auto it = std::find_if(nonces.begin(), nonces.end(),
                             [&](const auto& n) { return n.first == signer.public_key(); });
      if (it == nonces.end()) {
        nonces.emplace_back(signer.public_key(), sequencer ? ledger->NextNonce(signer.public_key())
                                               : ledger_client->NextNonce(signer.public_key()));
        it = nonces.end() - 1;
      }
      if (!it->second.ok()) {
        results[i] = it->second.status();
        continue;
      }
      ledger::TxBody body;
      body.chain_id = genesis.chain_id;
      body.sender = signer.public_key();
      body.nonce = (*it->second)++;
      body.op = sends[i].op;
      txs.push_back(ledger::SignTx(body, signer));
      sent.push_back(i);
    }
    std::vector<Status> answers;
    if (sequencer) {
      sequencer->SubmitBatch(txs, &answers);
    } else if (!txs.empty()) {
      answers = ledger_client->SubmitTxs(txs);
    }
    CAIRN_ASSERT(answers.size() == txs.size());
    for (size_t k = 0; k < sent.size(); ++k) results[sent[k]] = std::move(answers[k]);
    metrics->ObserveRpc("ledger.submit_txs", std::chrono::duration<double>(Clock::now() - started).count());
    // A transaction refused for its nonce right after an earlier one of its
    // signer was refused in this round only lost its place: it goes again
    // at once and the round does not count against it.
    std::vector<size_t> again;
    std::vector<ledger::AccountId> refused_signers;
    bool wait = false;
    int backoff_attempt = 0;
    for (size_t i : pending) {
      const ledger::AccountId signer =
          (sends[i].signer == Signer::kReferee ? *referee_key : *node_key).public_key();
      const Status& s = results[i];
      const bool displaced = std::find(refused_signers.begin(), refused_signers.end(), signer) != refused_signers.end() &&
                             s.message().find("nonce") != std::string::npos;
      if (!s.ok()) refused_signers.push_back(signer);
      if (s.ok() || !Retryable(s)) continue;
      if (displaced) {
        again.push_back(i);
      } else if (++attempts[i] < kTxAttemptsMax) {
        again.push_back(i);
        wait = true;
        backoff_attempt = std::max(backoff_attempt, attempts[i] - 1);
      }
    }
    pending.swap(again);
    if (wait && !pending.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(4000, 250 << backoff_attempt)));  // Capped backoff.
    }
  }
  return results;
}

void Node::Impl::TxLoop() {
  while (!stop) {
    // What is waiting goes in one call (SubmitTxs): one round trip and one
    // durable write for all of it, in queue order (urgent moves first).
    std::vector<SendTx> sends = tx_queue.PopUpTo(kTxsPerBatchMax, std::chrono::milliseconds(200));
    if (sends.empty()) continue;
    std::vector<Status> results = SendBatch(sends);
    for (size_t i = 0; i < sends.size(); ++i) {
      const char* op = ledger::OperationName(sends[i].op);
      const Status& s = results[i];
      metrics->CountTx(op, s.ok());
      auto job = ledger::JobOfOperation(sends[i].op);
      if (s.ok()) {
        spdlog::info("sent {}{}", op, job ? " for job " + Short(*job) : "");
      } else {
        spdlog::warn("{}{} refused: {}", op, job ? " for job " + Short(*job) : "", s.ToString());
        inbox.Push(TxRefused{job.value_or(Hash256{}), op, s});
      }
    }
  }
}

void Node::Impl::ProduceBlocks() {
  auto next = Clock::now();
  while (!stop) {
    next += std::chrono::milliseconds(config.block_interval_ms);
    std::this_thread::sleep_until(next);
    if (Clock::now() > next + std::chrono::milliseconds(config.block_interval_ms * 10)) next = Clock::now();
    auto produced = sequencer->ProduceBlock(NowMs(), ledger::kBlockTxsMax, /*allow_empty=*/true);
    if (!produced.ok()) {
      spdlog::error("producing a block failed: {}", produced.status().ToString());
      continue;
    }
    if (!*produced) continue;
    const ledger::Block& block = (*produced)->block;
    for (const auto& d : (*produced)->dropped) spdlog::info("dropped tx {}: {}", Short(d.tx_id), d.reason.ToString());
    if (block.header.tx_count > 0) spdlog::debug("block {}: {} txs", block.header.height, block.header.tx_count);
    EmitBlockEvents(block);
  }
}

void Node::Impl::FollowLedger() {
  int failures = 0;
  bool genesis_checked = false;
  while (!stop) {
    if (!genesis_checked) {
      auto remote = ledger_client->GetGenesis();
      if (remote.ok()) {
        if (ledger::EncodeGenesis(*remote) != ledger::EncodeGenesis(genesis)) {
          spdlog::critical("the ledger host at {} runs chain '{}' with another genesis than {}; stopping",
                           config.ledger_host_address, remote->chain_id, config.genesis_file);
          stop = true;
          return;
        }
        genesis_checked = true;
      }
    }
    uint64_t from = ledger->head().height + 1;
    Status s = ledger_client->FollowBlocks(from, [&](const ledger::Block& block) {
      auto root = ledger->FinalizeBlock(block);
      Status applied = root.ok() ? ledger->Commit() : root.status();
      if (!applied.ok()) {
        spdlog::error("block {} from the ledger host does not apply: {}", block.header.height, applied.ToString());
        return false;
      }
      failures = 0;
      EmitBlockEvents(block);
      return !stop;
    });
    if (stop) return;
    failures++;
    int backoff_ms = std::min(5000, 100 << std::min(failures, 6));
    if (failures == 1 || failures % 10 == 0) {
      spdlog::warn("following the ledger host at {}: {}; retrying in {} ms", config.ledger_host_address,
                   s.ok() ? "stream ended" : s.ToString(), backoff_ms);
    }
    for (int waited = 0; waited < backoff_ms && !stop; waited += 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status Node::Run(const std::function<bool()>& should_stop) {
  while (!impl_->stop) {
    if (should_stop && should_stop()) impl_->stop = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

void Node::Impl::Shutdown() {
  stop = true;
  spdlog::info("cairn node stopping");
  // Reverse order: 8. threads (chain, events, transactions), then the work
  // pool, 6. RPC, 5-1 by destruction.
  if (ledger_client) ledger_client->Cancel();
  heights.Shutdown();
  inbox.Close();
  tx_queue.Close();
  if (chain_thread.joinable()) chain_thread.join();
  if (event_thread.joinable()) event_thread.join();
  if (tx_thread.joinable()) tx_thread.join();
  if (server) server->Shutdown(500);
  if (pool && !pool->Stop(std::chrono::milliseconds(1500))) {
    // A training or replay is mid-flight in a worker process. Its inputs and
    // checkpoints are durable and the ledger's writes are synced, so exiting
    // now is a crash the node recovers from: the trainer resumes from its
    // last checkpoint on restart.
    spdlog::info("work in flight abandoned; it resumes from its last checkpoint on restart");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  spdlog::info("cairn node stopped");
}

}  // namespace cairn::node
