#include "node/job_inputs.h"

#include "node/manifest.h"

namespace cairn::node {

Result<JobInputs> LoadJobInputs(const ledger::Job& job, const BlobStore& blobs) {
  const std::string where = " in the blob store " + blobs.dir();
  if (!blobs.Stat(job.manifest_hash)) {
    return NotFound("job manifest " + job.manifest_hash.ToHex().substr(0, 16) + " is not" + where);
  }
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, blobs.ReadAll(job.manifest_hash, kManifestBytesMax));
  CAIRN_ASSIGN_OR_RETURN(JobManifest manifest, DecodeManifest(bytes));
  for (const ManifestInput& in : manifest.inputs) {
    if (!blobs.Stat(in.hash)) {
      return NotFound(std::string(InputRoleName(in.role)) + " blob " + in.hash.ToHex().substr(0, 16) + " is not" + where);
    }
  }
  JobInputs in;
  CAIRN_ASSIGN_OR_RETURN(in.spec, MaterializeJob(manifest, ledger::SpecIdOf(job), blobs));
  CAIRN_ASSIGN_OR_RETURN(in.dataset, job::ResolveJobInputs(&in.spec, &in.evaluation));
  if (job::JobId(in.spec) != ledger::SpecIdOf(job)) {
    return InvalidArgument("the job's inputs do not have the content its id commits to");
  }
  return in;
}

}  // namespace cairn::node
