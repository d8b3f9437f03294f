#include "cli/job_loading.h"

namespace cairn::cli {

Result<LoadedJob> LoadJob(const std::string& path) {
  LoadedJob out;
  CAIRN_ASSIGN_OR_RETURN(out.spec, job::LoadJobFile(path));
  auto dataset = job::ResolveJobInputs(&out.spec, &out.evaluation);
  if (!dataset.ok()) return dataset.status().WithContext(path);
  out.dataset = std::move(dataset).value();
  return out;
}

}  // namespace cairn::cli
