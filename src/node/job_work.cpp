#include "node/job_work.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "data/batch_order.h"
#include "ledger/forced_error.h"
#include "node/dispute_replay.h"
#include "node/manifest.h"
#include "node/report.h"
#include "proof/checkpoint_store.h"
#include "train/train.h"
#include "util/file.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }
constexpr size_t kLossCurvePointsMax = 200;
constexpr int kFetchRounds = 3;  // Passes over the holders before a fetch is reported failed (the role retries later).

}  // namespace

train::WorkerOptions JobWork::WorkerFor() const {
  train::WorkerOptions w;
  w.isolated = true;
  w.binary = ctx_.binary;
  w.limits = ctx_.config->limits;
  return w;
}

train::CheatHooks JobWork::CheatFor(const JobInputs& in) const {
  const job::JobSpec& spec = in.spec;
  // Devnet and test demonstrations of cheaters (docs/node.md, "Cheat
  // modes"); config::CheckCheatsAllowed refuses them on a chain without a
  // faucet. The hooks change the computation; the cheats that forge what is
  // committed after an honest run are in job_work_cheats.cpp.
  train::CheatHooks cheat;
  const std::string& mode = ctx_.config->solver_cheat;
  const uint64_t k = spec.checkpoint_interval;
  if (mode == "fake-segment") {
    // Segment 1 is trained with a learning rate 4x the job's (a shortcut a
    // lazy solver might take), then everything is committed as if honest. A
    // verifier's replay of segment 1 from the committed checkpoint 1 disagrees.
    cheat.learning_rate = [k](uint64_t step, double lr) { return step >= k && step < 2 * k ? lr * 4 : lr; };
  } else if (mode == "fake-step") {
    // One step of segment 0 applies a wrong update (three times the job's
    // learning rate); every other step is honest.
    const uint64_t faked = FakedStep(spec);
    cheat.learning_rate = [faked](uint64_t step, double lr) { return step == faked ? lr * 3 : lr; };
  } else if (mode == "corrupt-op") {
    // One operator of one step of segment 0 returns an output whose first
    // tensor has its lowest bit flipped (a silent fault, or a cheater
    // testing whether anyone looks).
    const uint64_t faked = FakedStep(spec);
    auto record = CorruptedRecord(in);
    if (!record.ok()) {
      spdlog::error("solver.cheat = corrupt-op: {}; training honestly", record.status().ToString());
      return cheat;
    }
    cheat.corrupt_op_output = [faked, r = *record](uint64_t step) -> std::optional<uint64_t> {
      return step == faked ? std::optional<uint64_t>(r) : std::nullopt;
    };
  } else if (mode == "data-order" || mode == "refuse-answer") {
    // Its own batch order (another seed's permutation) for every step: a
    // solver that uses its own data loader saves nothing but breaks the
    // trajectory every verifier replays.
    const uint64_t seed = spec.seed + 1;
    const uint32_t batch = spec.batch_size;
    const uint32_t n = static_cast<uint32_t>(in.dataset.size());
    cheat.batch_indices = [seed, batch, n](uint64_t step) { return data::BatchIndices(seed, step, batch, n); };
  } else if (mode == "low-precision") {
    // Trains in bfloat16: after every update the weights and the momentum
    // are rounded to bf16, as a solver with half the memory traffic would
    // leave them.
    cheat.round_to_bfloat16 = [](uint64_t) { return true; };
  }
  return cheat;
}

std::string JobWork::SolverDir() const { return ctx_.config->data_dir + "/solver"; }

Result<std::string> JobWork::EndpointOf(const ledger::AccountId& id) const {
  CAIRN_ASSIGN_OR_RETURN(auto endpoint, ctx_.ledger->GetEndpoint(id));
  if (!endpoint) return Unavailable("account " + id.ToHex().substr(0, 16) + " has not announced an endpoint");
  return *endpoint;
}

std::vector<std::string> JobWork::Holders(const ledger::Job& job) const {
  std::vector<std::string> holders;
  if (!ctx_.ledger_host.empty()) holders.push_back(ctx_.ledger_host);
  for (const ledger::AccountId& id : {job.solver, job.submitter}) {
    auto e = EndpointOf(id);
    if (e.ok() && std::find(holders.begin(), holders.end(), *e) == holders.end()) holders.push_back(*e);
  }
  return holders;
}

Status JobWork::FetchBlobFromAny(const std::vector<std::string>& holders, const Hash256& hash, uint64_t size_max) {
  if (ctx_.blobs->Stat(hash)) return Status::Ok();
  Status last = NotFound("no peer to fetch blob " + Short(hash) + " from");
  for (int round = 0; round < kFetchRounds; ++round) {
    for (const std::string& holder : holders) {
      uint64_t before = ctx_.blobs->PartialSize(hash);
      auto started = std::chrono::steady_clock::now();
      last = ctx_.peers->FetchBlob(holder, hash, size_max, ctx_.blobs);
      ctx_.metrics->ObserveRpc("blobs.get", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (last.ok()) {
        ctx_.metrics->AddBlobBytes(*ctx_.blobs->Stat(hash) - std::min(before, *ctx_.blobs->Stat(hash)));
        return Status::Ok();
      }
      // A corrupt transfer was discarded; anything else resumes from what arrived.
      spdlog::warn("fetching blob {} from {}: {}", Short(hash), holder, last.ToString());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << round));
  }
  return last;
}

Status JobWork::FetchInputs(const ledger::Job& job) {
  std::vector<std::string> holders = Holders(job);
  CAIRN_RETURN_IF_ERROR(FetchBlobFromAny(holders, job.manifest_hash, kManifestBytesMax).WithContext("job manifest"));
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, ctx_.blobs->ReadAll(job.manifest_hash, kManifestBytesMax));
  CAIRN_ASSIGN_OR_RETURN(JobManifest manifest, DecodeManifest(bytes));
  for (const ManifestInput& in : manifest.inputs) {
    CAIRN_RETURN_IF_ERROR(FetchBlobFromAny(holders, in.hash, in.size).WithContext(InputRoleName(in.role)));
  }
  return Status::Ok();
}

Result<JobInputs> JobWork::LoadInputs(const ledger::Job& job) {
  CAIRN_RETURN_IF_ERROR(FetchInputs(job));
  return LoadJobInputs(job, *ctx_.blobs);
}

void JobWork::SetProgress(const Hash256& job_id, const TrainingProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_[job_id] = p;
}

TrainingFinished JobWork::Train(const ledger::Job& job) {
  TrainingFinished out;
  out.job_id = job.job_id;
  TrainingProgress fetching;
  fetching.state = "fetching";
  SetProgress(job.job_id, fetching);
  auto inputs = LoadInputs(job);
  if (!inputs.ok()) {
    out.status = inputs.status().WithContext("job " + Short(job.job_id) + " inputs");
    TrainingProgress failed{"failed", 0, 0, 0, {}, out.status.ToString()};
    SetProgress(job.job_id, failed);
    return out;
  }
  train::TrainOptions options;
  options.work_dir = SolverDir();
  options.solver_key = ctx_.key;
  options.resume = true;
  options.evaluation = inputs->evaluation ? &*inputs->evaluation : nullptr;
  options.worker = WorkerFor();
  uint64_t last_step = 0;
  options.on_progress = [&](const train::Progress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    TrainingProgress& tp = progress_[job.job_id];
    tp.state = "training";
    tp.step = p.step;
    tp.total_steps = p.total_steps;
    tp.steps_per_second = p.steps_per_second;
    tp.loss_curve.push_back(p.loss);
    if (tp.loss_curve.size() > kLossCurvePointsMax) {
      // Halve the resolution: keep every other point.
      std::vector<double> half;
      for (size_t i = 0; i < tp.loss_curve.size(); i += 2) half.push_back(tp.loss_curve[i]);
      tp.loss_curve = std::move(half);
    }
    if (p.step > last_step) ctx_.metrics->AddTrainingSteps(p.step - last_step);
    last_step = p.step;
    ctx_.metrics->SetTrainingStepsPerSecond(p.steps_per_second);
  };
  options.cheat = CheatFor(*inputs);
  if (options.cheat.any()) options.worker.isolated = false;  // Cheat hooks are test hooks: in-process only.
  if (!ctx_.config->solver_cheat.empty()) {
    spdlog::warn("job {}: this solver CHEATS (solver.cheat = {})", Short(job.job_id), ctx_.config->solver_cheat);
  }
  spdlog::info("job {}: training {} ({} steps)", Short(job.job_id), inputs->spec.name, inputs->spec.steps);
  auto trained = train::TrainJob(inputs->spec, inputs->dataset, options);
  const Status forged = trained.ok() ? ForgeCommitment(&*trained) : Status::Ok();  // Cheat modes only.
  std::lock_guard<std::mutex> lock(mu_);
  TrainingProgress& tp = progress_[job.job_id];
  if (!trained.ok()) {
    out.status = trained.status();
    tp.state = "failed";
    tp.detail = out.status.ToString();
    return out;
  }
  if (!forged.ok()) {
    out.status = forged.WithContext("forging the commitment (solver.cheat = " + ctx_.config->solver_cheat + ")");
    tp.state = "failed";
    tp.detail = out.status.ToString();
    return out;
  }
  tp.state = "done";
  tp.step = tp.total_steps = trained->certificate.total_steps;
  tp.loss_curve.clear();
  for (const auto& s : trained->certificate.segments) tp.loss_curve.push_back(s.loss_mean);
  out.status = Status::Ok();
  out.certificate_hash = proof::CertificateHash(trained->certificate);
  out.checkpoint_root = trained->certificate.checkpoint_root;
  out.checkpoint_count = trained->certificate.checkpoint_hashes.size();
  out.final_model_hash = trained->certificate.final_model_hash;
  spdlog::info("job {}: trained in {:.1f} s, final loss {:.4f}{}", Short(job.job_id), trained->seconds, trained->final_loss,
               trained->evaluation ? fmt::format(", test accuracy {:.4f}", trained->evaluation->accuracy) : "");
  return out;
}

Result<proof::Certificate> JobWork::FetchProofs(const ledger::Job& job, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(std::string solver, EndpointOf(job.solver));
  CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, FetchCommittedCertificate(*ctx_.peers, solver, job));
  CAIRN_RETURN_IF_ERROR(FetchCheckpoints(*ctx_.peers, solver, cert, dir, [this](uint64_t bytes, double seconds) {
    ctx_.metrics->ObserveRpc("proof.get_checkpoint", seconds);
    ctx_.metrics->AddCheckpointBytes(bytes);
  }));
  return cert;
}

VerificationFinished JobWork::Verify(const ledger::Job& job, const std::vector<uint64_t>& segments_in,
                                     const Hash256& own_replica) {
  if (!ctx_.config->verifier_cheat.empty()) return CheatingVerdict(job);  // Devnet and tests only.
  std::vector<uint64_t> segments = segments_in;
  VerificationFinished out;
  out.job_id = job.job_id;
  const std::string dir = ctx_.config->data_dir + "/verifier/" + job.job_id.ToHex();
  auto inputs = LoadInputs(job);
  if (!inputs.ok()) {
    out.status = inputs.status();
    ctx_.metrics->CountVerification("error");
    return out;
  }
  if (job.exact_replay != (inputs->spec.verification.mode == job::VerificationMode::kExact)) {
    // The ledger's flag decides what an accept answers for (forced errors,
    // real-error slashing): a record that contradicts its spec gets no verdict.
    out.status = FailedPrecondition("job " + Short(job.job_id) + " is posted with exact_replay = " +
                                    (job.exact_replay ? "true" : "false") + " but its spec's verification mode is " +
                                    (job.exact_replay ? "tolerance" : "exact") + ": no verdict on a contradictory job");
    ctx_.metrics->CountVerification("error");
    return out;
  }
  // The checkpoints last: a job this verifier will not judge costs no transfer.
  auto cert = FetchProofs(job, dir + "/checkpoints");
  if (!cert.ok()) {
    out.status = cert.status();
    ctx_.metrics->CountVerification("error");
    return out;
  }
  train::VerifyOptions options;
  options.checkpoint_dir = dir + "/checkpoints";
  options.verifier_key = ctx_.key;
  options.expected_solver = job.solver;
  options.worker = WorkerFor();
  options.evaluation = inputs->evaluation ? &*inputs->evaluation : nullptr;
  const uint64_t segment_count = cert->segments.size();
  if (!own_replica.IsZero()) {
    // Our own replica's checkpoints are our replay of the same job: the first
    // one that differs names the segment to take to the referee.
    auto mine_bytes = Certificate(own_replica);
    auto mine = mine_bytes.ok() ? proof::DecodeCertificate(*mine_bytes) : Result<proof::Certificate>(mine_bytes.status());
    if (!mine.ok()) {
      out.status = mine.status().WithContext("this solver's own replica");
      return out;
    }
    size_t first = 0;
    while (first < cert->checkpoint_hashes.size() && first < mine->checkpoint_hashes.size() &&
           cert->checkpoint_hashes[first] == mine->checkpoint_hashes[first]) {
      first++;
    }
    if (first == 0 || first >= cert->checkpoint_hashes.size()) {
      out.status = Status::Ok();
      out.accept = true;  // Nothing this solver can dispute: no verdict is posted for a sibling.
      return out;
    }
    spdlog::info("job {}: replica differs from ours from checkpoint {} on: replaying segment {}", Short(job.job_id),
                 first, first - 1);
    segments = {first - 1};
  }
  if (!segments.empty()) {
    for (uint64_t s : segments) options.segments.push_back(static_cast<uint32_t>(s));
  } else {
    // The segments the ledger makes this verifier answer for, and never a
    // revealed forced error (its segments disagree by design).
    for (uint64_t s : ledger::AuditedSegments(job.selection_seed, job.job_id, ctx_.key->public_key(), segment_count,
                                              ctx_.ledger->genesis().params.audited_segments)) {
      options.required_segments.push_back(static_cast<uint32_t>(s));
    }
    if (job.forced_leaf != 0) {
      options.skipped_segments = {static_cast<uint32_t>(job.forced_leaf - 1), static_cast<uint32_t>(job.forced_leaf)};
    }
  }
  auto report = train::VerifyJob(inputs->spec, inputs->dataset, *cert, options);
  if (!report.ok()) {
    out.status = report.status();
    ctx_.metrics->CountVerification("error");
    return out;
  }
  VerifierReport r;
  r.job_id = job.job_id;
  r.certificate_hash = job.certificate_hash;
  r.verifier = ctx_.key->public_key();
  r.accept = report->accepted;
  r.reason = report->reason;
  r.sampled = report->sampled;
  for (const auto& c : report->checks) {
    if (!c.passed) r.failed.push_back(c.segment);
  }
  r.steps_replayed = report->steps_replayed;
  auto hash = ctx_.blobs->Put(EncodeReport(r));
  if (!hash.ok()) {
    out.status = hash.status();
    return out;
  }
  out.status = Status::Ok();
  out.accept = r.accept;
  out.report_hash = *hash;
  if (!r.accept && !r.failed.empty()) {
    DisputeReplay replay(*inputs, *cert, dir + "/checkpoints", EngineOptionsFor(*inputs, Holder::kChallenger));
    auto dispute = PrepareDisputeOpen(job.job_id, replay, r.failed.front(), *hash);
    if (!dispute.ok()) {
      out.status = dispute.status().WithContext("preparing the dispute");
      return out;
    }
    out.dispute = *dispute;
  }
  if (!r.accept && !out.dispute) {
    spdlog::warn("job {}: REJECT without a segment to dispute ({}); no verdict is posted", Short(job.job_id), r.reason);
  }
  ctx_.metrics->CountVerification(r.accept ? "accept" : "reject");
  spdlog::info("job {}: verified {} segments ({} steps): {}", Short(job.job_id), r.sampled.size(), r.steps_replayed,
               r.accept ? "ACCEPT" : "REJECT: " + r.reason);
  return out;
}

void JobWork::Prune(const Hash256& job_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string prefix = job_id.ToHex() + "/";
    for (auto it = move_memo_order_.begin(); it != move_memo_order_.end();) {
      if (it->rfind(prefix, 0) == 0) {
        move_memos_.erase(*it);
        it = move_memo_order_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::error_code ec;
  // The solver's checkpoints of this job (named by its certificate), then its job folder.
  auto cert = Certificate(job_id);
  if (cert.ok()) {
    if (auto decoded = proof::DecodeCertificate(*cert); decoded.ok()) {
      auto store = proof::CheckpointStore::Open(SolverDir() + "/checkpoints");
      if (store.ok()) {
        for (const Hash256& h : decoded->checkpoint_hashes) std::filesystem::remove(store->PathOf(h), ec);
      }
    }
  }
  // The certificate and model stay (small, and the submitter fetches the
  // model after settlement); the worker's resume journal goes.
  std::filesystem::remove_all(ctx_.config->data_dir + "/verifier/" + job_id.ToHex(), ec);
  {
    std::lock_guard<std::mutex> lock(mu_);
    progress_.erase(job_id);
  }
}

Hash256 JobWork::SpecId(const Hash256& job_id) const {
  auto job = ctx_.ledger->GetJob(job_id);
  return job.ok() && *job ? ledger::SpecIdOf(**job) : job_id;
}

Result<Bytes> JobWork::Certificate(const Hash256& job_id) {
  std::string path = SolverDir() + "/jobs/" + SpecId(job_id).ToHex() + "/certificate.bin";
  if (!util::FileExists(path)) return NotFound("no certificate for job " + Short(job_id) + " on this node");
  return util::ReadFile(path, proof::kCertificateBytesMax);
}

Result<std::string> JobWork::CheckpointPath(const Hash256& hash) {
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(SolverDir() + "/checkpoints"));
  if (!store.Has(hash)) return NotFound("no checkpoint " + Short(hash) + " on this node");
  return store.PathOf(hash);
}

Result<std::string> JobWork::ModelPath(const Hash256& job_id) {
  std::string path = SolverDir() + "/jobs/" + SpecId(job_id).ToHex() + "/model.bin";
  if (!util::FileExists(path)) return NotFound("no trained model for job " + Short(job_id) + " on this node");
  return path;
}

TrainingProgress JobWork::Progress(const Hash256& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = progress_.find(job_id);
  if (it != progress_.end()) return it->second;
  TrainingProgress p;
  p.state = Certificate(job_id).ok() ? "done" : "unknown";
  return p;
}

}  // namespace cairn::node
