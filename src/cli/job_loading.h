// Loading a job file with every input resolved (shared by train, verify,
// eval, export, job estimate and the demo).
#pragma once

#include <optional>
#include <string>

#include "data/dataset.h"
#include "job/spec.h"

namespace cairn::cli {

struct LoadedJob {
  job::JobSpec spec;
  data::Dataset dataset;
  std::optional<data::Dataset> evaluation;  // The [evaluation] set, if the job has one.
};

// Parses the job file, loads its datasets and hashes its model files; errors
// name the file.
Result<LoadedJob> LoadJob(const std::string& path);

}  // namespace cairn::cli
