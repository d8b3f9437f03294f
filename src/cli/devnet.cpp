// `cairn devnet`: a whole network on this machine. Starts a ledger host,
// solvers and verifiers as separate `cairn node` processes on 127.0.0.1,
// funds them from the devnet faucet, submits a Fashion-MNIST job and shows
// it move through claim, training, certificate, verification and
// settlement, then the test accuracy, fees, balances and a ledger audit.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/app.h"
#include "cli/client.h"
#include "cli/job_submission.h"
#include "config/genesis_config.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "proof/certificate.h"
#include "store/rocksdb_store.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

struct DevnetArgs {
  int solvers = 2;
  int verifiers = 2;
  std::string job = "configs/jobs/devnet.toml";
  std::string data_dir;
  bool cheat = false;
  bool keep = false;
  uint64_t fee = 10'000;
  uint64_t stake = 5'000;
  uint64_t block_interval_ms = 250;
  double timeout_seconds = 1800;
  double challenge_window_seconds = 60;
  uint32_t forced_error_bps = ledger::Params{}.forced_error_bps;
};

struct Member {
  std::string name;  // host, solver-1, verifier-2, ...
  std::string dir;
  crypto::PublicKey id;
  pid_t pid = -1;
  std::string endpoint;
  ledger::Account before;
  bool funded = false;  // `before` is the account after the node funded itself.
};

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string SelfBinary() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "cairn" : p.string();
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class Devnet {
 public:
  explicit Devnet(DevnetArgs args) : args_(std::move(args)), started_(Clock::now()) {}
  ~Devnet() { StopAll(); }
  int Run();

 private:
  Status Prepare();
  Status StartNode(Member* m, const std::string& roles, const std::string& extra);
  Status WaitForAddress(Member* m);
  Status WaitFunded();
  Result<ledger::JobStatus> Follow(const Hash256& job_id);
  void Report(const Hash256& job_id, ledger::JobStatus final_status);
  void StopAll();
  void Log(const std::string& line) { std::printf("[%6.1f s] %s\n", Since(started_), line.c_str()); }

  DevnetArgs args_;
  Clock::time_point started_;
  std::string root_;
  bool temporary_ = false;
  std::string binary_ = SelfBinary();
  Member host_;
  std::vector<Member> nodes_;  // Solvers, then verifiers.
  std::optional<crypto::KeyPair> submitter_;
  ledger::Account submitter_before_;
  std::unique_ptr<net::NodeQueries> q_;
};

Status Devnet::Prepare() {
  if (args_.data_dir.empty()) {
    char tmpl[] = "/tmp/cairn-devnet-XXXXXX";
    if (!mkdtemp(tmpl)) return IoError("cannot create a temporary directory in /tmp");
    root_ = tmpl;
    temporary_ = !args_.keep;
  } else {
    root_ = fs::absolute(args_.data_dir).string();
    std::error_code ec;
    if (fs::exists(root_, ec) && !fs::is_empty(root_, ec)) {
      return AlreadyExists(root_ + " is not empty: give an empty or new --data directory");
    }
  }
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(root_ + "/keys"));
  auto make_key = [&](const std::string& name) -> Result<crypto::KeyPair> {
    crypto::KeyPair k = crypto::KeyPair::Generate();
    CAIRN_RETURN_IF_ERROR(crypto::WriteKeyFile(root_ + "/keys/" + name + ".key", k, false));
    return k;
  };
  CAIRN_ASSIGN_OR_RETURN(auto host_key, make_key("host"));
  CAIRN_ASSIGN_OR_RETURN(auto referee_key, make_key("referee"));
  CAIRN_ASSIGN_OR_RETURN(auto submitter, make_key("submitter"));
  submitter_ = std::move(submitter);
  host_ = Member{"host", root_ + "/host", host_key.public_key(), -1, "", {}};
  for (int i = 1; i <= args_.solvers; ++i) {
    CAIRN_ASSIGN_OR_RETURN(auto k, make_key("solver-" + std::to_string(i)));
    nodes_.push_back(Member{"solver-" + std::to_string(i), root_ + "/solver-" + std::to_string(i), k.public_key(), -1, "", {}});
  }
  for (int i = 1; i <= args_.verifiers; ++i) {
    CAIRN_ASSIGN_OR_RETURN(auto k, make_key("verifier-" + std::to_string(i)));
    nodes_.push_back(Member{"verifier-" + std::to_string(i), root_ + "/verifier-" + std::to_string(i), k.public_key(), -1, "", {}});
  }
  ledger::Genesis g;
  g.chain_id = "cairn-devnet";
  g.genesis_time_ms = NowMs();
  g.sequencer = host_key.public_key();
  g.referee = referee_key.public_key();
  g.params.unbonding_delay_blocks = 20;
  g.params.faucet_amount_max = 1'000'000;
  g.params.verifier_stake_min = 100;
  g.params.forced_error_bps = args_.forced_error_bps;
  // Catches of forced errors are paid from the jackpot: start it funded.
  g.jackpot = 100'000;
  g.allocations.push_back({submitter_->public_key(), 1'000'000, 0});
  // The challenge window must outlast the verifiers' fetch and replay (about
  // 10 s for the devnet job on 2 idle cores); settlement waits for it.
  g.params.challenge_window_blocks = static_cast<uint64_t>(args_.challenge_window_seconds * 1000) / args_.block_interval_ms;
  // A dispute round's answer replays at most one segment, less than a
  // verdict's sample: a round as long as the window fits any job the window
  // fits (a 100k-step job's first round took 40 s; 60 blocks is 15 s).
  g.params.dispute_round_blocks = std::max(g.params.dispute_round_blocks, g.params.challenge_window_blocks);
  std::string toml = config::GenesisToToml(g);
  return util::WriteFileAtomic(root_ + "/genesis.toml", ByteView(std::string_view(toml)));
}

Status Devnet::StartNode(Member* m, const std::string& roles, const std::string& extra) {
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(m->dir));
  std::string config = "# Written by cairn devnet.\nroles = [" + roles + "]\n" +
                       "key_file = \"" + root_ + "/keys/" + m->name + ".key\"\n" +
                       "data_dir = \"" + m->dir + "/data\"\n" +
                       "genesis = \"" + root_ + "/genesis.toml\"\n" +
                       "listen = \"127.0.0.1:0\"\n" + extra;
  CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(m->dir + "/node.toml", ByteView(std::string_view(config))));
  const std::string log = m->dir + "/node.log";
  const std::string config_path = m->dir + "/node.toml";
  pid_t pid = fork();
  if (pid < 0) return IoError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // Never outlive the devnet.
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(binary_.c_str(), binary_.c_str(), "node", "--config", config_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  m->pid = pid;
  return WaitForAddress(m);
}

Status Devnet::WaitForAddress(Member* m) {
  const std::string addr = m->dir + "/data/node.addr";
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !g_interrupted) {
    int status = 0;
    if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
      m->pid = -1;
      return Unavailable(m->name + " exited during start-up; see " + m->dir + "/node.log");
    }
    auto bytes = util::ReadFile(addr, 1024);
    if (bytes.ok() && !bytes->empty()) {
      m->endpoint = std::string(bytes->begin(), bytes->end());
      while (!m->endpoint.empty() && m->endpoint.back() == '\n') m->endpoint.pop_back();
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Unavailable(m->name + " did not start listening within 60 s; see " + m->dir + "/node.log");
}

Status Devnet::WaitFunded() {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (Member& m : nodes_) {
    if (m.pid <= 0) continue;  // Not started (yet).
    while (true) {
      if (g_interrupted) return Unavailable("interrupted");
      std::string endpoint;
      auto a = q_->GetAccount(m.id, &endpoint);
      if (a.ok() && a->stake_free > 0 && !endpoint.empty()) {
        m.before = *a;
        m.funded = true;
        break;
      }
      if (Clock::now() > deadline) return Unavailable(m.name + " did not fund and announce itself within 60 s; see " + m.dir + "/node.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  auto s = q_->GetAccount(submitter_->public_key());
  if (s.ok()) submitter_before_ = *s;
  return Status::Ok();
}

std::string Name(const std::vector<Member>& nodes, const crypto::PublicKey& id) {
  for (const Member& m : nodes) {
    if (m.id == id) return m.name;
  }
  return id.ToHex().substr(0, 16);
}

Result<ledger::JobStatus> Devnet::Follow(const Hash256& job_id) {
  net::GrpcPeerClient peers;
  ledger::JobStatus last = ledger::JobStatus::kOpen;
  ledger::ForcedError last_forced = ledger::ForcedError::kUnrevealed;
  std::vector<ledger::Vote> votes_seen;  // As last shown: new ones and newly slashed accepts are logged.
  bool tty = isatty(1);
  uint64_t last_step_logged = 0;
  auto last_progress = Clock::now();
  auto deadline = Clock::now() + std::chrono::duration<double>(args_.timeout_seconds);
  bool honest_started = !args_.cheat;
  while (!g_interrupted) {
    if (Clock::now() > deadline) return Unavailable("the job did not settle within the devnet's timeout");
    auto job = q_->GetJob(job_id);
    if (!job.ok()) return job.status();
    if (job->status != last) {
      if (tty && last == ledger::JobStatus::kClaimed) std::printf("\n");
      switch (job->status) {
        case ledger::JobStatus::kClaimed:
          Log("claimed by " + Name(nodes_, job->solver) + " (bond " + std::to_string(job->solver_stake) + "), training");
          break;
        case ledger::JobStatus::kCommitted:
          Log("certificate " + ShortHex(job->certificate_hash) + " committed; verifiers fetch checkpoints and replay samples");
          break;
        case ledger::JobStatus::kDisputed:
          Log("a verifier REJECTED the certificate and opened a dispute: solver and challenger bisect to one step, then one operator, and the referee (ledger host) recomputes it");
          break;
        default:
          Log(std::string("job is ") + ledger::JobStatusName(job->status));
      }
      last = job->status;
    }
    if (!honest_started && job->status != ledger::JobStatus::kOpen) {
      // With --cheat the honest solvers join once the cheater holds the job.
      for (Member& m : nodes_) {
        if (m.name.rfind("solver-", 0) == 0 && m.name != "solver-1") {
          CAIRN_RETURN_IF_ERROR(StartNode(&m, "\"solver\"", "ledger_host = \"" + host_.endpoint + "\"\nblock_interval_ms = 250\n[devnet]\nfaucet = 100000\nstake = 50000\n"));
        }
      }
      honest_started = true;
    }
    if (job->forced != last_forced) {
      switch (job->forced) {
        case ledger::ForcedError::kNone:
          Log("the solver revealed its forced-error secret: this job carried no forced error");
          break;
        case ledger::ForcedError::kChecking:
          Log("the solver revealed that checkpoint " + std::to_string(job->forced_leaf) +
              " is its FORCED ERROR (Truebit); the referee replays the segment to confirm it");
          break;
        case ledger::ForcedError::kConfirmed:
          Log("forced error at checkpoint " + std::to_string(job->forced_leaf) + " confirmed");
          break;
        default:
          Log(std::string("forced error ") + ledger::ForcedErrorName(job->forced));
      }
      last_forced = job->forced;
    }
    for (size_t i = 0; i < std::min(votes_seen.size(), job->votes.size()); ++i) {
      const ledger::Vote& v = job->votes[i];
      if (v.slashed() && !votes_seen[i].slashed() && v.verifier == votes_seen[i].verifier) {
        Log("the accept from " + Name(nodes_, v.verifier) + " approved a wrong checkpoint: its bond of " +
            std::to_string(votes_seen[i].bond) + " is slashed");
      }
    }
    for (size_t i = votes_seen.size(); i < job->votes.size(); ++i) {
      const ledger::Vote& v = job->votes[i];
      Log(std::string("verdict ") + ledger::VoteName(v) + " from " + Name(nodes_, v.verifier) + " (report " +
          ShortHex(v.report_hash) + ", bond " + std::to_string(v.bond) + ")");
    }
    votes_seen = job->votes;
    if (job->status == ledger::JobStatus::kClaimed) {
      std::string endpoint;
      (void)q_->GetAccount(job->solver, &endpoint);
      auto p = endpoint.empty() ? Result<node::TrainingProgress>(Unavailable("")) : peers.GetProgress(endpoint, job_id);
      if (p.ok() && p->total_steps > 0) {
        double loss = p->loss_curve.empty() ? 0 : p->loss_curve.back();
        if (tty) {
          int width = 30, filled = static_cast<int>(width * p->step / p->total_steps);
          std::printf("\r           training [%s%s] step %llu/%llu  loss %.4f  %.0f steps/s   ",
                      std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                      static_cast<unsigned long long>(p->step), static_cast<unsigned long long>(p->total_steps), loss,
                      p->steps_per_second);
          std::fflush(stdout);
        } else if (p->step != last_step_logged && Since(last_progress) >= 0) {
          if (std::chrono::duration<double>(Clock::now() - last_progress).count() > 5) {
            Log("training: step " + std::to_string(p->step) + "/" + std::to_string(p->total_steps) + ", loss " +
                std::to_string(loss));
            last_progress = Clock::now();
          }
          last_step_logged = p->step;
        }
      }
    }
    if (ledger::IsFinal(job->status)) return job->status;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return Unavailable("interrupted (Ctrl-C)");
}

void Devnet::Report(const Hash256& job_id, ledger::JobStatus final_status) {
  auto job = q_->GetJob(job_id);
  std::printf("\n== outcome: job %s is %s\n", ShortHex(job_id).c_str(), ledger::JobStatusName(final_status));
  if (job.ok() && job->claimed_height != 0) {
    std::string endpoint;
    (void)q_->GetAccount(job->solver, &endpoint);
    net::GrpcPeerClient peers;
    auto bytes = endpoint.empty() ? Result<Bytes>(Unavailable("")) : peers.GetCertificate(endpoint, job_id);
    auto cert = bytes.ok() ? proof::DecodeCertificate(*bytes) : Result<proof::Certificate>(bytes.status());
    if (cert.ok() && cert->evaluation && final_status == ledger::JobStatus::kSettled) {
      std::printf("   test accuracy %.4f on %llu held-out examples (signed by the solver, recomputed by verifiers)\n",
                  cert->evaluation->accuracy, static_cast<unsigned long long>(cert->evaluation->examples));
    } else if (final_status == ledger::JobStatus::kFailed) {
      std::printf("   the certificate was rejected: the pinpoint game and the referee's recomputation confirmed the faked segment\n");
    }
  }
  // Every dispute of the job, as the ledger recorded it (cairn dispute show).
  for (uint32_t i = 0; job.ok() && i < job->disputes; ++i) {
    auto d = q_->GetDispute(job_id, i);
    if (!d.ok()) continue;
    size_t step_rounds = 0, op_rounds = 0;
    for (const ledger::DisputeMove& m : d->moves) {
      if (m.party != ledger::DisputeParty::kChallenger) continue;
      (m.phase == ledger::DisputePhase::kSteps ? step_rounds : op_rounds)++;
    }
    if (d->task == ledger::RefereeTask::kForcedCheck) {
      std::printf("   dispute %u on segment %llu: the solver's forced error, checked by the referee\n     %s\n", i,
                  static_cast<unsigned long long>(d->segment),
                  d->phase == ledger::DisputePhase::kResolved ? d->resolution.c_str() : ledger::DisputePhaseName(d->phase));
      continue;
    }
    std::printf("   dispute %u on segment %llu: %zu rounds over steps pinned step %llu, %zu over its operator trace",
                i, static_cast<unsigned long long>(d->segment), step_rounds,
                static_cast<unsigned long long>(d->lo_step), op_rounds);
    if (d->task == ledger::RefereeTask::kOperator) {
      std::printf(" pinned record %llu", static_cast<unsigned long long>(d->op_lo));
    }
    std::printf("\n     %s\n", d->phase == ledger::DisputePhase::kResolved ? d->resolution.c_str()
                                                                          : ledger::DisputePhaseName(d->phase));
  }
  std::printf("\n== balances (change since funding)\n");
  auto print = [&](const std::string& name, const crypto::PublicKey& id, const ledger::Account& before) {
    auto a = q_->GetAccount(id);
    if (!a.ok()) return;
    long long d_balance = static_cast<long long>(a->balance) - static_cast<long long>(before.balance);
    long long d_stake = static_cast<long long>(a->stake_free + a->stake_bonded) -
                        static_cast<long long>(before.stake_free + before.stake_bonded);
    std::printf("   %-11s balance %9llu (%+lld)   stake %7llu (%+lld)\n", name.c_str(),
                static_cast<unsigned long long>(a->balance), d_balance,
                static_cast<unsigned long long>(a->stake_free + a->stake_bonded), d_stake);
  };
  print("submitter", submitter_->public_key(), submitter_before_);
  for (const Member& m : nodes_) {
    if (m.funded) print(m.name, m.id, m.before);
  }
}

void Devnet::StopAll() {
  std::vector<Member*> all;
  for (Member& m : nodes_) all.push_back(&m);
  all.push_back(&host_);  // The host last: followers stop while it still answers.
  for (Member* m : all) {
    if (m->pid > 0) kill(m->pid, SIGTERM);
  }
  auto deadline = Clock::now() + std::chrono::seconds(15);
  for (Member* m : all) {
    while (m->pid > 0) {
      int status = 0;
      if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
        m->pid = -1;
        break;
      }
      if (Clock::now() > deadline) {
        kill(m->pid, SIGKILL);
        waitpid(m->pid, &status, 0);
        m->pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

int Devnet::Run() {
  Status s = Prepare();
  if (!s.ok()) return ReportError(s);
  std::printf("cairn devnet: %d solver(s), %d verifier(s), data in %s%s\n", args_.solvers, args_.verifiers, root_.c_str(),
              temporary_ ? " (removed at the end; --keep keeps it)" : "");
  std::string interval = "block_interval_ms = " + std::to_string(args_.block_interval_ms) + "\n";
  s = StartNode(&host_, "\"ledger-host\"", "referee_key_file = \"" + root_ + "/keys/referee.key\"\n" + interval);
  if (!s.ok()) return ReportError(s);
  Log("ledger host up at " + host_.endpoint + " (sequencer and referee; log " + host_.dir + "/node.log)");
  std::string follower = "ledger_host = \"" + host_.endpoint + "\"\n" + interval + "[devnet]\nfaucet = 100000\n";
  for (Member& m : nodes_) {
    bool solver = m.name.rfind("solver-", 0) == 0;
    if (args_.cheat && solver && m.name != "solver-1") continue;  // Started once the cheater holds the job.
    std::string extra = follower + (solver ? "stake = 50000\n" : "stake = 10000\n");
    if (solver && args_.cheat) extra += "[solver]\ncheat = \"fake-segment\"\n";
    s = StartNode(&m, solver ? "\"solver\"" : "\"verifier\"", extra);
    if (!s.ok()) return ReportError(s);
    Log(m.name + " up at " + m.endpoint + (args_.cheat && solver ? " (it will CHEAT: fakes segment 1)" : ""));
  }
  q_ = std::make_unique<net::NodeQueries>(host_.endpoint);
  s = WaitFunded();
  if (!s.ok()) return ReportError(s);
  Log("every node funded itself from the faucet, staked and announced its endpoint");

  SubmitOptions options;
  options.fee = args_.fee;
  options.solver_stake = args_.stake;
  options.claim_window_blocks = 120'000 / args_.block_interval_ms;
  options.commit_window_blocks = 3'600'000 / args_.block_interval_ms;
  Log("submitting " + args_.job + " (fee " + std::to_string(args_.fee) + ", solver bond " + std::to_string(args_.stake) + ")");
  auto submitted = SubmitJob(*q_, *submitter_, args_.job, options);
  if (!submitted.ok()) return ReportError(submitted.status());
  Log("posted job " + submitted->job_id.ToHex());
  auto final_status = Follow(submitted->job_id);
  if (!final_status.ok()) {
    std::printf("\n");
    ReportError(final_status.status());
    StopAll();
    std::printf("node logs are in %s\n", root_.c_str());
    return kExitFailure;
  }
  Report(submitted->job_id, *final_status);
  std::printf("\n== stopping the nodes\n");
  StopAll();
  auto kv = store::RocksDbStore::Open(host_.dir + "/data/ledger", ledger::LedgerColumnFamilies());
  bool audited = false;
  if (kv.ok()) {
    auto report = ledger::AuditLedger(**kv);
    if (report.ok()) {
      std::printf("ledger audit OK: %llu blocks replayed from genesis, every state root matches\n",
                  static_cast<unsigned long long>(report->blocks));
      audited = true;
    } else {
      std::printf("ledger audit FAILED: %s\n", report.status().ToString().c_str());
    }
  }
  bool expected = args_.cheat ? *final_status == ledger::JobStatus::kFailed : *final_status == ledger::JobStatus::kSettled;
  std::printf("%s\n", expected ? (args_.cheat ? "the cheater was caught: its bond is slashed and the submitter refunded"
                                              : "the job settled: the solver and the verifiers are paid")
                               : "UNEXPECTED outcome: see the node logs");
  if (temporary_) {
    std::error_code ec;
    if (kv.ok()) kv->reset();  // Close the store before deleting it.
    fs::remove_all(root_, ec);
  } else {
    std::printf("everything is in %s (node logs: */node.log)\n", root_.c_str());
  }
  return expected && audited ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterDevnetCommands(CLI::App* app, Command* command) {
  auto args = std::make_shared<DevnetArgs>();
  CLI::App* d = app->add_subcommand("devnet", "Run a whole network on this machine and train a real job end to end");
  d->add_option("--solvers", args->solvers, "Solver nodes")->capture_default_str()->check(CLI::Range(1, 16));
  d->add_option("--verifiers", args->verifiers, "Verifier nodes")->capture_default_str()->check(CLI::Range(1, 16));
  d->add_option("--job", args->job, "Job file to submit")->capture_default_str();
  d->add_option("--data", args->data_dir, "Keep everything in this (new or empty) directory instead of a temporary one");
  d->add_flag("--cheat", args->cheat, "One solver fakes a segment: the run ends with its bond slashed");
  d->add_flag("--keep", args->keep, "Keep the temporary directory");
  d->add_option("--fee", args->fee, "The job's fee")->capture_default_str();
  d->add_option("--stake", args->stake, "The bond the job asks of its solver")->capture_default_str();
  d->add_option("--challenge-window", args->challenge_window_seconds,
                 "Seconds verifiers have to give verdicts after the certificate (settlement waits for it)")
      ->capture_default_str()->check(CLI::Range(5.0, 86400.0));
  d->add_option("--forced-errors", args->forced_error_bps,
                "Chance in basis points that a job carries a Truebit forced error (10000: always)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  d->add_option("--timeout", args->timeout_seconds, "Give up after this many seconds")->capture_default_str();
  d->callback([command, args] {
    command->action = [args] {
      struct sigaction sa {};
      sa.sa_handler = OnInterrupt;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGINT, &sa, nullptr);
      sigaction(SIGTERM, &sa, nullptr);
      Devnet devnet(*args);
      return devnet.Run();
    };
  });
}

}  // namespace cairn::cli
