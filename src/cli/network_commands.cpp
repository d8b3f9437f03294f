// The submitter's and operator's commands that talk to a node over gRPC:
// `cairn job submit|status|list|fetch|cancel`, `cairn stake add|withdraw`,
// `cairn account show`, `cairn faucet` (docs/node.md, "The CLI").
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "cli/app.h"
#include "cli/client.h"
#include "cli/job_submission.h"
#include "cli/party_copy.h"
#include "node/manifest.h"
#include "proof/certificate.h"
#include "proof/model_state.h"
#include "train/engine.h"
#include "train/export.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

std::string Sparkline(const std::vector<double>& values, size_t width = 60) {
  static const char* kBars[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
  if (values.empty()) return "";
  std::vector<double> v;
  for (size_t i = 0; i < width && i < values.size(); ++i) v.push_back(values[i * values.size() / std::min(width, values.size())]);
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  std::string out;
  for (double x : v) out += kBars[hi > lo ? static_cast<int>((x - lo) / (hi - lo) * 7.999) : 0];
  return out;
}

std::string Who(net::NodeQueries& q, const crypto::PublicKey& id) {
  if (id.bytes == crypto::PublicKey{}.bytes) return "-";
  return id.ToHex().substr(0, 16);
}

struct StatusArgs : ClientArgs {
  std::string job;
  bool watch = false;
};

// Prints one job's state; returns its status.
Result<ledger::JobStatus> PrintJob(net::NodeQueries& q, const Hash256& id, bool with_progress) {
  CAIRN_ASSIGN_OR_RETURN(ledger::Job job, q.GetJob(id));
  CAIRN_ASSIGN_OR_RETURN(net::HeadInfo head, q.GetHead());
  std::printf("job        %s\n", id.ToHex().c_str());
  std::printf("state      %s (height %llu)\n", ledger::JobStatusName(job.status), static_cast<unsigned long long>(head.height));
  std::printf("submitter  %s   fee %llu   solver bond %llu\n", Who(q, job.submitter).c_str(),
              static_cast<unsigned long long>(job.fee), static_cast<unsigned long long>(job.solver_stake));
  std::printf("replay     %s\n", job.exact_replay ? "exact (accepts answer for forced and real errors)"
                                                     : "tolerance (no forced errors; accepts within the thresholds)");
  if (job.replicas > 1) {
    std::printf("replica    %u of %u (group %s)\n", job.replica, job.replicas, ShortHex(job.group).c_str());
  }
  if (job.status == ledger::JobStatus::kOpen) {
    std::printf("claims     until height %llu\n", static_cast<unsigned long long>(job.claim_deadline_height));
  }
  if (job.claimed_height != 0) {
    std::printf("solver     %s (claimed at %llu, commit by %llu)\n", Who(q, job.solver).c_str(),
                static_cast<unsigned long long>(job.claimed_height), static_cast<unsigned long long>(job.commit_deadline_height));
  }
  std::string solver_endpoint;
  if (job.claimed_height != 0) (void)q.GetAccount(job.solver, &solver_endpoint);
  if (with_progress && !solver_endpoint.empty()) {
    net::GrpcPeerClient peers;
    auto p = peers.GetProgress(solver_endpoint, id);
    if (p.ok() && p->total_steps > 0) {
      std::printf("progress   %s: step %llu of %llu (%.0f%%)%s\n", p->state.c_str(), static_cast<unsigned long long>(p->step),
                  static_cast<unsigned long long>(p->total_steps), 100.0 * p->step / p->total_steps,
                  p->steps_per_second > 0 ? (", " + std::to_string(static_cast<int>(p->steps_per_second)) + " steps/s").c_str() : "");
    } else if (p.ok()) {
      std::printf("progress   %s%s\n", p->state.c_str(), p->detail.empty() ? "" : (": " + p->detail).c_str());
    }
    if (p.ok() && !p->loss_curve.empty()) {
      std::printf("loss       %s  %.4f -> %.4f\n", Sparkline(p->loss_curve).c_str(), p->loss_curve.front(), p->loss_curve.back());
    }
  }
  if (!job.certificate_hash.IsZero()) {
    std::printf("certificate %s (challenge window until %llu)\n", ShortHex(job.certificate_hash).c_str(),
                static_cast<unsigned long long>(job.challenge_end_height));
    if (!solver_endpoint.empty()) {
      net::GrpcPeerClient peers;
      auto bytes = peers.GetCertificate(solver_endpoint, id);
      auto cert = bytes.ok() ? proof::DecodeCertificate(*bytes) : Result<proof::Certificate>(bytes.status());
      if (cert.ok() && cert->evaluation) {
        std::printf("test acc.  %.4f (%llu of %llu), test loss %.4f (signed by the solver, checked by verifiers)\n",
                    cert->evaluation->accuracy, static_cast<unsigned long long>(cert->evaluation->correct),
                    static_cast<unsigned long long>(cert->evaluation->examples), cert->evaluation->loss);
      }
    }
  }
  if (job.forced != ledger::ForcedError::kUnrevealed) {
    std::printf("forced     %s%s\n", ledger::ForcedErrorName(job.forced),
                job.forced_leaf != 0 ? (" (checkpoint " + std::to_string(job.forced_leaf) + ")").c_str() : "");
  }
  for (const ledger::Vote& v : job.votes) {
    std::printf("verdict    %s by %s (bond %llu, report %s)\n", ledger::VoteName(v), Who(q, v.verifier).c_str(),
                static_cast<unsigned long long>(v.bond), ShortHex(v.report_hash).c_str());
  }
  return job.status;
}

int JobStatusCommand(const StatusArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto id = ParseJobId(args.job);
  if (!id.ok()) return ReportInputError(id.status());
  net::NodeQueries q(*node);
  while (true) {
    auto status = PrintJob(q, *id, true);
    if (!status.ok()) return ReportError(status.status());
    if (!args.watch || ledger::IsFinal(*status)) return kExitOk;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::printf("\n");
  }
}

int JobList(const ClientArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  net::NodeQueries q(*node);
  auto jobs = q.ListJobs();
  if (!jobs.ok()) return ReportError(jobs.status());
  if (jobs->empty()) {
    std::printf("no jobs on this ledger yet (cairn job submit FILE posts one)\n");
    return kExitOk;
  }
  std::printf("%-64s  %-9s  %8s  %-16s  %s\n", "job", "state", "fee", "solver", "verdicts");
  for (const auto& j : *jobs) {
    int accepts = 0, rejects = 0;
    for (const auto& v : j.votes) (v.accept ? accepts : rejects)++;
    std::printf("%-64s  %-9s  %8llu  %-16s  %d accept, %d reject\n", j.job_id.ToHex().c_str(), ledger::JobStatusName(j.status),
                static_cast<unsigned long long>(j.fee), Who(q, j.solver).c_str(), accepts, rejects);
  }
  return kExitOk;
}

struct SubmitArgs : ClientArgs {
  std::string file;
  SubmitOptions options;
};

int JobSubmit(const SubmitArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto key = ResolveKey(args);
  if (!key.ok()) return ReportInputError(key.status());
  net::NodeQueries q(*node);
  auto submitted = SubmitJob(q, *key, args.file, args.options);
  if (!submitted.ok()) return ReportError(submitted.status());
  std::printf("posted job %s (fee %llu, manifest %s, %llu bytes uploaded)\n", submitted->job_id.ToHex().c_str(),
              static_cast<unsigned long long>(args.options.fee), ShortHex(submitted->manifest_hash).c_str(),
              static_cast<unsigned long long>(submitted->uploaded_bytes));
  for (uint8_t r = 1; r < args.options.replicas; ++r) {
    std::printf("  replica %u: job %s\n", r, ledger::ReplicaJobId(submitted->job_id, r).ToHex().c_str());
  }
  std::printf("follow it: cairn job status %s --node %s --watch\n", submitted->job_id.ToHex().c_str(), node->c_str());
  return kExitOk;
}

struct JobIdArgs : ClientArgs {
  std::string job;
  std::string out;
};

int JobCancel(const JobIdArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto key = ResolveKey(args);
  if (!key.ok()) return ReportInputError(key.status());
  auto id = ParseJobId(args.job);
  if (!id.ok()) return ReportInputError(id.status());
  net::NodeQueries q(*node);
  Status s = SendAndWait(q, *key, ledger::CancelJobOp{*id});
  if (!s.ok()) return ReportError(s);
  std::printf("cancelled job %s; the fee is back in your balance\n", id->ToHex().c_str());
  return kExitOk;
}

Status Fetch(const JobIdArgs& args, const std::string& node_address) {
  CAIRN_ASSIGN_OR_RETURN(Hash256 id, ParseJobId(args.job));
  net::NodeQueries q(node_address);
  CAIRN_ASSIGN_OR_RETURN(ledger::Job job, q.GetJob(id));
  if (job.final_model_hash.IsZero()) {
    return FailedPrecondition("job " + ShortHex(id) + " is " + ledger::JobStatusName(job.status) +
                              ": it has no trained model yet");
  }
  if (job.status == ledger::JobStatus::kFailed) {
    return FailedPrecondition("job " + ShortHex(id) + " failed verification: its model is not trustworthy");
  }
  std::string solver_endpoint;
  CAIRN_RETURN_IF_ERROR(q.GetAccount(job.solver, &solver_endpoint).status());
  if (solver_endpoint.empty()) return Unavailable("the job's solver has not announced where it serves its proofs");
  net::GrpcPeerClient peers;
  CAIRN_ASSIGN_OR_RETURN(Bytes model, peers.GetModel(solver_endpoint, id));
  if (proof::ModelHash(model) != job.final_model_hash) {
    return Corruption("the model " + solver_endpoint + " serves is not the one committed on the ledger");
  }
  // The export needs the job's spec and training data (layer sizes).
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(args.out));
  CAIRN_ASSIGN_OR_RETURN(auto blobs, node::BlobStore::Open(args.out + "/inputs"));
  CAIRN_RETURN_IF_ERROR(FetchJobBlobs(q, job, &blobs));
  CAIRN_ASSIGN_OR_RETURN(node::JobInputs inputs, node::LoadJobInputs(job, blobs));
  // Someone else's job: its TorchScript (which loading runs) only ever runs
  // in the sandboxed worker, as it does on the solver and the verifiers.
  train::EngineOptions engine_options;
  engine_options.worker.isolated = true;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<train::Engine> engine,
                         train::StartEngine(inputs.spec, inputs.dataset,
                                            inputs.evaluation ? &*inputs.evaluation : nullptr, engine_options));
  CAIRN_ASSIGN_OR_RETURN(train::ExportedModel exported, engine->Export(model));
  CAIRN_RETURN_IF_ERROR(util::WriteFilesAtomic({{args.out + "/model.bin", ByteView(model)},
                                                {args.out + "/" + train::kExportTorchScriptFile, ByteView(exported.torchscript)},
                                                {args.out + "/" + train::kExportStateDictFile, ByteView(exported.state_dict)}}));
  std::printf("fetched the trained model of job %s (%s, verified against the ledger)\n", ShortHex(id).c_str(),
              ledger::JobStatusName(job.status));
  std::printf("  %-40s cairn's model file\n", (args.out + "/model.bin").c_str());
  std::printf("  %-40s TorchScript, eval mode: torch.jit.load(path)\n", (args.out + "/" + train::kExportTorchScriptFile).c_str());
  std::printf("  %-40s state dict: torch.load(path, weights_only=True)\n", (args.out + "/" + train::kExportStateDictFile).c_str());
  auto cert_bytes = peers.GetCertificate(solver_endpoint, id);
  if (cert_bytes.ok()) {
    auto cert = proof::DecodeCertificate(*cert_bytes);
    if (cert.ok() && cert->evaluation) std::printf("  test accuracy %.4f (the certificate's signed claim)\n", cert->evaluation->accuracy);
  }
  return Status::Ok();
}

int JobFetch(const JobIdArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  Status s = Fetch(args, *node);
  return s.ok() ? kExitOk : ReportError(s);
}

struct AmountArgs : ClientArgs {
  uint64_t amount = 0;
};

int SendSimple(const AmountArgs& args, ledger::Operation op, const char* done) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto key = ResolveKey(args);
  if (!key.ok()) return ReportInputError(key.status());
  net::NodeQueries q(*node);
  Status s = SendAndWait(q, *key, std::move(op));
  if (!s.ok()) return ReportError(s);
  std::printf("%s\n", done);
  return kExitOk;
}

struct AccountArgs : ClientArgs {
  std::string public_key;
};

int AccountShow(const AccountArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  crypto::PublicKey id;
  if (!args.public_key.empty()) {
    auto parsed = crypto::PublicKey::FromHex(args.public_key);
    if (!parsed.ok()) return ReportInputError(parsed.status().WithContext("account"));
    id = *parsed;
  } else {
    auto key = ResolveKey(args);
    if (!key.ok()) return ReportInputError(key.status());
    id = key->public_key();
  }
  net::NodeQueries q(*node);
  std::string endpoint;
  auto a = q.GetAccount(id, &endpoint);
  if (!a.ok()) return ReportError(a.status());
  std::printf("account     %s\n", id.ToHex().c_str());
  std::printf("balance     %llu\n", static_cast<unsigned long long>(a->balance));
  std::printf("stake       %llu free, %llu bonded, %llu unbonding\n", static_cast<unsigned long long>(a->stake_free),
              static_cast<unsigned long long>(a->stake_bonded), static_cast<unsigned long long>(a->unbonding));
  std::printf("nonce       %llu\n", static_cast<unsigned long long>(a->nonce));
  if (!endpoint.empty()) std::printf("endpoint    %s\n", endpoint.c_str());
  return kExitOk;
}

}  // namespace

void RegisterNetworkCommands(CLI::App* app, Command* command) {
  CLI::App* job = app->get_subcommand("job");
  job->description("Training jobs: submit them to the network and follow them; inspect job files");

  auto submit = std::make_shared<SubmitArgs>();
  CLI::App* s = job->add_subcommand("submit", "Upload a job's spec and inputs to a node and post it with its fee");
  s->add_option("file", submit->file, "Job file (TOML)")->required();
  s->add_option("--fee", submit->options.fee, "Fee in base units (paid on settlement)")->required();
  s->add_option("--stake", submit->options.solver_stake, "Bond a solver must post to claim it")->required();
  s->add_option("--replicas", submit->options.replicas,
                "Solvers that train the job independently, each paid the fee; replicas that differ are disputed "
                "by each other's solver (job ids: `cairn job list`)")
      ->capture_default_str()
      ->check(CLI::Range(1, static_cast<int>(ledger::kReplicasMax)));
  s->add_option("--claim-window", submit->options.claim_window_blocks, "Blocks a solver has to claim it")->capture_default_str();
  s->add_option("--commit-window", submit->options.commit_window_blocks, "Blocks the solver has from claim to certificate")
      ->capture_default_str();
  AddNodeOption(s, submit.get());
  AddKeyOption(s, submit.get());
  s->callback([command, submit] { command->action = [submit] { return JobSubmit(*submit); }; });

  auto status = std::make_shared<StatusArgs>();
  CLI::App* st = job->add_subcommand("status", "A job's state, solver, progress and loss curve, verdicts, test accuracy");
  st->add_option("id", status->job, "Job id (64 hex)")->required();
  st->add_flag("--watch", status->watch, "Refresh every 2 s until the job is final");
  AddNodeOption(st, status.get());
  st->callback([command, status] { command->action = [status] { return JobStatusCommand(*status); }; });

  auto list = std::make_shared<ClientArgs>();
  CLI::App* ls = job->add_subcommand("list", "Every job on the ledger, oldest first");
  AddNodeOption(ls, list.get());
  ls->callback([command, list] { command->action = [list] { return JobList(*list); }; });

  auto fetch = std::make_shared<JobIdArgs>();
  CLI::App* f = job->add_subcommand("fetch", "Download a job's trained model (checked against the ledger) and export it");
  f->add_option("id", fetch->job, "Job id (64 hex)")->required();
  f->add_option("--out", fetch->out, "Directory for model.bin, model.pt and state_dict.pt")->required();
  AddNodeOption(f, fetch.get());
  f->callback([command, fetch] { command->action = [fetch] { return JobFetch(*fetch); }; });

  auto cancel = std::make_shared<JobIdArgs>();
  CLI::App* c = job->add_subcommand("cancel", "Withdraw a job nobody has claimed yet; the fee is refunded");
  c->add_option("id", cancel->job, "Job id (64 hex)")->required();
  AddNodeOption(c, cancel.get());
  AddKeyOption(c, cancel.get());
  c->callback([command, cancel] { command->action = [cancel] { return JobCancel(*cancel); }; });

  CLI::App* stake = app->add_subcommand("stake", "Stake funds (solvers and verifiers bond stake) or withdraw them");
  stake->require_subcommand(1);
  auto add = std::make_shared<AmountArgs>();
  CLI::App* a = stake->add_subcommand("add", "Move balance into free stake");
  a->add_option("amount", add->amount, "Base units")->required();
  AddNodeOption(a, add.get());
  AddKeyOption(a, add.get());
  a->callback([command, add] {
    command->action = [add] { return SendSimple(*add, ledger::StakeOp{add->amount}, "staked"); };
  });
  auto withdraw = std::make_shared<AmountArgs>();
  CLI::App* w = stake->add_subcommand("withdraw", "Unstake free stake; it returns to the balance after the unbonding delay");
  w->add_option("amount", withdraw->amount, "Base units")->required();
  AddNodeOption(w, withdraw.get());
  AddKeyOption(w, withdraw.get());
  w->callback([command, withdraw] {
    command->action = [withdraw] {
      return SendSimple(*withdraw, ledger::UnstakeOp{withdraw->amount}, "unbonding: back in the balance after the unbonding delay");
    };
  });

  auto faucet = std::make_shared<AmountArgs>();
  CLI::App* fa = app->add_subcommand("faucet", "Mint funds from a devnet's faucet");
  fa->add_option("amount", faucet->amount, "Base units")->required();
  AddNodeOption(fa, faucet.get());
  AddKeyOption(fa, faucet.get());
  fa->callback([command, faucet] {
    command->action = [faucet] { return SendSimple(*faucet, ledger::FaucetOp{faucet->amount}, "minted"); };
  });

  CLI::App* account = app->add_subcommand("account", "Accounts on the ledger");
  account->require_subcommand(1);
  auto show = std::make_shared<AccountArgs>();
  CLI::App* sh = account->add_subcommand("show", "Balance, stake and nonce of an account (yours with --key)");
  sh->add_option("public_key", show->public_key, "64 hex digits (default: the --key file's)");
  AddNodeOption(sh, show.get());
  AddKeyOption(sh, show.get());
  sh->callback([command, show] { command->action = [show] { return AccountShow(*show); }; });
}

}  // namespace cairn::cli
