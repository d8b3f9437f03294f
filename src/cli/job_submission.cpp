#include "cli/job_submission.h"

#include <cstdio>

#include "cli/client.h"
#include "crypto/hash.h"
#include "node/manifest.h"
#include "util/file.h"

namespace cairn::cli {

Result<Submitted> SubmitJob(net::NodeQueries& node, const crypto::KeyPair& key, const std::string& job_file,
                            const SubmitOptions& options) {
  if (options.fee == 0) return InvalidArgument("--fee must be positive (base units the solver and verifiers earn)");
  if (options.solver_stake == 0) return InvalidArgument("--stake must be positive (the bond a solver risks by cheating)");
  CAIRN_ASSIGN_OR_RETURN(LoadedJob job, LoadJob(job_file));
  CAIRN_ASSIGN_OR_RETURN(net::HeadInfo head, node.GetHead());
  Submitted out;
  out.job_id = job::JobId(job.spec);
  node::JobManifest manifest;
  manifest.spec = job::EncodeJobSpec(job.spec);
  for (const auto& [role, path] : node::InputFiles(job.spec)) {
    auto bytes = util::ReadFile(path, node::kBlobBytesMax);
    if (!bytes.ok()) return bytes.status().WithContext(node::InputRoleName(role));
    Hash256 hash = crypto::Blake2b256(*bytes);
    if (!options.quiet) std::printf("  uploading %-20s %s (%zu bytes)\n", node::InputRoleName(role), path.c_str(), bytes->size());
    CAIRN_RETURN_IF_ERROR(node.PutBlob(*bytes, head.chain_id, key));
    manifest.inputs.push_back({role, hash, bytes->size()});
    out.uploaded_bytes += bytes->size();
  }
  Bytes encoded = node::EncodeManifest(manifest);
  out.manifest_hash = crypto::Blake2b256(encoded);
  CAIRN_RETURN_IF_ERROR(node.PutBlob(encoded, head.chain_id, key));
  auto existing = node.GetJob(out.job_id);
  if (existing.ok()) {
    return AlreadyExists("job " + out.job_id.ToHex() + " was already posted (it is " +
                         ledger::JobStatusName(existing->status) + "); change its seed or name to post another");
  }
  CAIRN_RETURN_IF_ERROR(SendAndWait(node, key,
                                    ledger::PostJobOp{out.job_id, options.fee, options.solver_stake,
                                                      options.claim_window_blocks, options.commit_window_blocks,
                                                      out.manifest_hash, options.replicas,
                                                      job.spec.verification.mode == job::VerificationMode::kExact}));
  return out;
}

}  // namespace cairn::cli
