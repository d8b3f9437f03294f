// Loading a job file with every input resolved (shared by train, verify,
// job estimate and the demo).
#pragma once

#include <string>

#include "data/dataset.h"
#include "job/spec.h"

namespace cairn::cli {

struct LoadedJob {
  job::JobSpec spec;
  data::Dataset dataset;
};

// Parses the job file, loads its dataset and hashes its model files; errors
// name the file.
Result<LoadedJob> LoadJob(const std::string& path);

}  // namespace cairn::cli
