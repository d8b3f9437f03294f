#include "cli/party_copy.h"

#include "cli/client.h"
#include "node/manifest.h"
#include "proof/checkpoint_store.h"
#include "util/file.h"

namespace cairn::cli {

Status FetchJobBlobs(net::NodeQueries& node, const ledger::Job& job, node::BlobStore* blobs) {
  if (!blobs->Stat(job.manifest_hash)) {
    CAIRN_ASSIGN_OR_RETURN(Bytes manifest, node.GetBlob(job.manifest_hash, node::kManifestBytesMax));
    CAIRN_RETURN_IF_ERROR(blobs->Put(manifest).status());
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, blobs->ReadAll(job.manifest_hash, node::kManifestBytesMax));
  CAIRN_ASSIGN_OR_RETURN(node::JobManifest manifest, node::DecodeManifest(bytes));
  for (const node::ManifestInput& in : manifest.inputs) {
    if (blobs->Stat(in.hash)) continue;
    CAIRN_ASSIGN_OR_RETURN(Bytes input, node.GetBlob(in.hash, in.size));
    CAIRN_RETURN_IF_ERROR(blobs->Put(input).status());
  }
  return Status::Ok();
}

Result<std::unique_ptr<PartyCopy>> PartyCopy::Load(net::NodeQueries& node, const ledger::Job& job,
                                                   const std::string& data_dir, ledger::DisputeParty party) {
  CAIRN_ASSIGN_OR_RETURN(node::BlobStore blobs, node::BlobStore::Open(data_dir + "/blobs"));
  std::unique_ptr<PartyCopy> copy(new PartyCopy(std::move(blobs)));
  CAIRN_RETURN_IF_ERROR(FetchJobBlobs(node, job, &copy->blobs_).WithContext("fetching the job's inputs"));
  CAIRN_ASSIGN_OR_RETURN(copy->inputs_, node::LoadJobInputs(job, copy->blobs_));
  std::string checkpoints;
  if (party == ledger::DisputeParty::kSolver) {
    // The solver's own work directory (cairn node's DATA/solver).
    const std::string path = data_dir + "/solver/jobs/" + job.job_id.ToHex() + "/certificate.bin";
    if (!util::FileExists(path)) {
      return NotFound("no certificate of job " + ShortHex(job.job_id) + " at " + path +
                      " (--data must be the solver node's data directory)");
    }
    CAIRN_ASSIGN_OR_RETURN(Bytes bytes, util::ReadFile(path, proof::kCertificateBytesMax));
    CAIRN_ASSIGN_OR_RETURN(copy->cert_, proof::DecodeCertificate(bytes));
    if (proof::CertificateHash(copy->cert_) != job.certificate_hash) {
      return FailedPrecondition(path + " is not the certificate committed for job " + ShortHex(job.job_id));
    }
    checkpoints = data_dir + "/solver/checkpoints";
  } else {
    // A challenger replays from the checkpoints the solver serves.
    std::string endpoint;
    CAIRN_RETURN_IF_ERROR(node.GetAccount(job.solver, &endpoint).status());
    if (endpoint.empty()) return Unavailable("the job's solver has not announced where it serves its proofs");
    net::GrpcPeerClient peers;
    CAIRN_ASSIGN_OR_RETURN(copy->cert_, node::FetchCommittedCertificate(peers, endpoint, job));
    checkpoints = data_dir + "/verifier/" + job.job_id.ToHex() + "/checkpoints";
    CAIRN_RETURN_IF_ERROR(node::FetchCheckpoints(peers, endpoint, copy->cert_, checkpoints)
                              .WithContext("fetching the solver's checkpoints from " + endpoint));
  }
  // Someone else's job: its code runs only in the sandboxed worker.
  train::EngineOptions options;
  options.worker.isolated = true;
  copy->replay_ = std::make_unique<node::DisputeReplay>(copy->inputs_, copy->cert_, checkpoints, options);
  return copy;
}

}  // namespace cairn::cli
