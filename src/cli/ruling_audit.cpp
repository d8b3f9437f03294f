#include "cli/ruling_audit.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "cli/client.h"
#include "cli/party_copy.h"
#include "crypto/hash.h"
#include "node/job_work.h"
#include "node/ruling.h"
#include "proof/checkpoint_store.h"
#include "util/file.h"

namespace cairn::cli {
namespace {

const char* TaskName(ledger::RefereeTask t) {
  switch (t) {
    case ledger::RefereeTask::kOperator: return "one operator";
    case ledger::RefereeTask::kStep: return "one step";
    case ledger::RefereeTask::kSegment: return "one segment";
    case ledger::RefereeTask::kForcedCheck: return "the segment of a revealed forced error";
    case ledger::RefereeTask::kNone: break;
  }
  return "nothing";
}

std::string FaultName(bool solver_at_fault) { return solver_at_fault ? "the solver" : "the challenger"; }

// A scratch directory for what the audit fetches, removed when done: the
// audited data directory is only read.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cairn-audit-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The evidence of one ruling as the audited data directory holds it (what
// the referee fetched and was sent), completed from --node when given.
class AuditEvidence final : public node::RulingEvidence {
 public:
  AuditEvidence(const ledger::Ledger& ledger, const ledger::Job& job, const RulingAuditOptions& options,
                const std::string& scratch)
      : ledger_(ledger), job_(job), options_(options), scratch_(scratch) {}

  Result<Bytes> OperatorInputs(const Hash256& hash) override {
    const std::string dir = options_.data_dir + "/blobs";
    std::string looked = dir;
    if (std::filesystem::is_directory(dir)) {
      CAIRN_ASSIGN_OR_RETURN(node::BlobStore blobs, node::BlobStore::Open(dir));
      if (blobs.Stat(hash)) {
        CAIRN_ASSIGN_OR_RETURN(Bytes bytes, blobs.ReadAll(hash, proof::kOpInputsBytesMax));
        if (crypto::Blake2b256(bytes) != hash) return Corruption("blob " + ShortHex(hash) + " in " + dir + " is damaged");
        return bytes;
      }
    }
    if (!options_.node.empty()) {
      auto fetched = net::NodeQueries(options_.node).GetBlob(hash, proof::kOpInputsBytesMax);
      if (fetched.ok()) return fetched;
      looked += " and on " + options_.node + " (" + fetched.status().message() + ")";
    } else {
      looked += " (pass --node HOST:PORT to fetch it from a node that holds it)";
    }
    return NotFound("operator inputs blob " + ShortHex(hash) + " is not in " + looked);
  }

  Result<const proof::Certificate*> Certificate() override {
    if (cert_) return &*cert_;
    std::vector<std::string> paths = {
        node::RefereeCertificatePath(options_.data_dir, job_.job_id),
        options_.data_dir + "/solver/jobs/" + job_.job_id.ToHex() + "/certificate.bin"};
    std::string looked;
    for (const std::string& path : paths) {
      looked += (looked.empty() ? "" : ", ") + path;
      if (!util::FileExists(path)) continue;
      CAIRN_ASSIGN_OR_RETURN(Bytes bytes, util::ReadFile(path, proof::kCertificateBytesMax));
      auto cert = proof::DecodeCertificate(bytes);
      if (cert.ok() && proof::CertificateHash(*cert) == job_.certificate_hash) {
        cert_ = std::move(*cert);
        return &*cert_;
      }
    }
    if (!options_.node.empty()) {
      auto endpoint = ledger_.GetEndpoint(job_.solver);
      if (endpoint.ok() && *endpoint) {
        net::GrpcPeerClient peers;
        auto cert = node::FetchCommittedCertificate(peers, **endpoint, job_);
        if (cert.ok()) {
          cert_ = std::move(*cert);
          return &*cert_;
        }
        looked += " and the solver at " + **endpoint + " (" + cert.status().message() + ")";
      }
    }
    return NotFound("the committed certificate of job " + ShortHex(job_.job_id) + " is not at " + looked);
  }

  Result<const node::DisputeReplay*> Replay() override {
    if (replay_) return replay_.get();
    CAIRN_ASSIGN_OR_RETURN(const proof::Certificate* cert, Certificate());
    CAIRN_ASSIGN_OR_RETURN(inputs_, LoadInputs());
    CAIRN_ASSIGN_OR_RETURN(std::string checkpoints, CheckpointDir(*cert));
    train::EngineOptions engine;
    engine.worker.isolated = true;  // Someone else's job: the sandboxed worker.
    replay_ = std::make_unique<node::DisputeReplay>(inputs_, *cert, checkpoints, engine);
    return replay_.get();
  }

 private:
  Result<node::JobInputs> LoadInputs() {
    const std::string dir = options_.data_dir + "/blobs";
    if (std::filesystem::is_directory(dir)) {
      CAIRN_ASSIGN_OR_RETURN(node::BlobStore blobs, node::BlobStore::Open(dir));
      auto in = node::LoadJobInputs(job_, blobs);
      if (in.ok()) return in;
      if (in.status().code() != StatusCode::kNotFound || options_.node.empty()) {
        return in.status().WithContext("the job's inputs");
      }
    } else if (options_.node.empty()) {
      return NotFound("no blob store at " + dir + " for the job's inputs (pass --node HOST:PORT to fetch them)");
    }
    CAIRN_ASSIGN_OR_RETURN(node::BlobStore fetched, node::BlobStore::Open(scratch_ + "/blobs"));
    net::NodeQueries q(options_.node);
    CAIRN_RETURN_IF_ERROR(FetchJobBlobs(q, job_, &fetched).WithContext("fetching the job's inputs from " + options_.node));
    return node::LoadJobInputs(job_, fetched);
  }

  // A directory holding every checkpoint the certificate names: the
  // referee's copy, the solver's own, a verifier's, or fetched from the solver.
  Result<std::string> CheckpointDir(const proof::Certificate& cert) {
    const std::string job_hex = job_.job_id.ToHex();
    std::string looked;
    for (const std::string& dir : {options_.data_dir + "/referee/" + job_hex + "/checkpoints",
                                   options_.data_dir + "/solver/checkpoints",
                                   options_.data_dir + "/verifier/" + job_hex + "/checkpoints"}) {
      looked += (looked.empty() ? "" : ", ") + dir;
      if (!std::filesystem::is_directory(dir)) continue;
      CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(dir));
      bool all = true;
      for (const Hash256& h : cert.checkpoint_hashes) all = all && store.Has(h);
      if (all) return dir;
    }
    if (!options_.node.empty()) {
      auto endpoint = ledger_.GetEndpoint(job_.solver);
      if (endpoint.ok() && *endpoint) {
        const std::string dir = scratch_ + "/checkpoints";
        net::GrpcPeerClient peers;
        Status fetched = node::FetchCheckpoints(peers, **endpoint, cert, dir);
        if (fetched.ok()) return dir;
        looked += " and the solver at " + **endpoint + " (" + fetched.message() + ")";
      }
    } else {
      looked += " (pass --node HOST:PORT to fetch them from the solver)";
    }
    return NotFound("the committed checkpoints of job " + ShortHex(job_.job_id) + " are not all in " + looked);
  }

  const ledger::Ledger& ledger_;
  const ledger::Job& job_;
  const RulingAuditOptions& options_;
  std::string scratch_;
  std::optional<proof::Certificate> cert_;
  node::JobInputs inputs_;
  std::unique_ptr<node::DisputeReplay> replay_;
};

// The dispute a ruling at `height` resolved.
Result<ledger::Dispute> DisputeRuledAt(const ledger::Ledger& ledger, const ledger::Job& job, uint64_t height) {
  for (uint32_t i = job.disputes; i-- > 0;) {
    CAIRN_ASSIGN_OR_RETURN(auto d, ledger.GetDispute(job.job_id, i));
    // A forced check ends only by a ruling; other disputes also by a timeout.
    if (d && d->phase == ledger::DisputePhase::kResolved && d->resolved_height == height &&
        (d->resolution.rfind("ruling:", 0) == 0 || d->task == ledger::RefereeTask::kForcedCheck)) {
      return *d;
    }
  }
  return Corruption("no dispute of job " + ShortHex(job.job_id) + " was resolved by the ruling at height " +
                    std::to_string(height));
}

enum class Outcome { kConfirmed, kContradicted, kUncheckable };

Outcome CheckRuling(const ledger::Ledger& ledger, const ledger::RulingOp& recorded, uint64_t height,
                    const RulingAuditOptions& options, const std::string& scratch) {
  std::printf("ruling at height %llu on job %s\n", static_cast<unsigned long long>(height),
              recorded.job_id.ToHex().c_str());
  auto job = ledger.GetJob(recorded.job_id);
  if (!job.ok() || !*job) {
    std::printf("  UNCHECKABLE: the job is not on the ledger\n");
    return Outcome::kUncheckable;
  }
  auto d = DisputeRuledAt(ledger, **job, height);
  if (!d.ok()) {
    std::printf("  UNCHECKABLE: %s\n", d.status().message().c_str());
    return Outcome::kUncheckable;
  }
  std::printf("  dispute %u on segment %llu, referee task: %s", d->index, static_cast<unsigned long long>(d->segment),
              TaskName(d->task));
  if (d->task == ledger::RefereeTask::kOperator) {
    std::printf(" (%s, record %llu of step %llu)", recorded.op_name.c_str(), static_cast<unsigned long long>(d->op_lo),
                static_cast<unsigned long long>(d->lo_step));
  } else if (d->task == ledger::RefereeTask::kStep) {
    std::printf(" (step %llu)", static_cast<unsigned long long>(d->lo_step));
  }
  std::printf("\n  recorded: %s at fault, value %s, evidence %s\n", FaultName(recorded.solver_at_fault).c_str(),
              recorded.value.ToHex().c_str(), ShortHex(recorded.inputs_hash).c_str());
  AuditEvidence evidence(ledger, **job, options, scratch);
  const crypto::KeyPair auditor = crypto::KeyPair::Generate();  // Signs only the audit's own replay report.
  node::RulingOptions ruling_options;
  ruling_options.key = &auditor;
  ruling_options.worker.isolated = true;
  if (!recorded.inputs_hash.IsZero()) ruling_options.inputs_first = recorded.inputs_hash;
  auto expected = node::RecomputeRuling(**job, *d, evidence, ruling_options);
  if (!expected.ok()) {
    std::printf("  UNCHECKABLE: %s\n", expected.status().ToString().c_str());
    return Outcome::kUncheckable;
  }
  std::printf("  recomputed: %s at fault, value %s, evidence %s\n", FaultName(expected->solver_at_fault).c_str(),
              expected->value.ToHex().c_str(), ShortHex(expected->inputs_hash).c_str());
  if (expected->solver_at_fault == recorded.solver_at_fault && expected->value == recorded.value) {
    std::printf("  CONFIRMED\n");
    return Outcome::kConfirmed;
  }
  const char* solver = "the solver";
  const char* challenger = "the challenger";
  if (expected->solver_at_fault != recorded.solver_at_fault) {
    const bool solver_wronged = recorded.solver_at_fault;
    std::printf("  CONTRADICTED: the referee ruled falsely; the ruling wronged %s %s (%s should have lost)\n",
                solver_wronged ? solver : challenger,
                (solver_wronged ? job->value().solver : d->challenger).ToHex().c_str(),
                solver_wronged ? challenger : solver);
  } else {
    std::printf("  CONTRADICTED: the outcome stands (%s at fault either way) but the recorded value is not what "
                "the evidence gives\n",
                FaultName(recorded.solver_at_fault).c_str());
  }
  return Outcome::kContradicted;
}

}  // namespace

Result<RulingAuditSummary> AuditRulings(const ledger::Ledger& ledger, const RulingAuditOptions& options) {
  ScratchDir scratch;
  if (scratch.path().empty()) return IoError("cannot create a scratch directory for the audit");
  RulingAuditSummary summary;
  const uint64_t head = ledger.head().height;
  for (uint64_t height = 1; height <= head; ++height) {
    CAIRN_ASSIGN_OR_RETURN(ledger::Block block, ledger.GetBlock(height));
    for (const ledger::SignedTx& tx : block.txs) {
      const auto* ruling = std::get_if<ledger::RulingOp>(&tx.body.op);
      if (ruling == nullptr) continue;
      summary.rulings++;
      switch (CheckRuling(ledger, *ruling, height, options, scratch.path())) {
        case Outcome::kConfirmed: summary.confirmed++; break;
        case Outcome::kContradicted: summary.contradicted++; break;
        case Outcome::kUncheckable: summary.uncheckable++; break;
      }
    }
  }
  return summary;
}

}  // namespace cairn::cli
