// A job's inputs as a node or the CLI computes with them: the spec with its
// paths pointed at the input blobs of a local blob store, and the datasets
// loaded from them (docs/protocol.md, "Job manifests").
#pragma once

#include <optional>

#include "data/dataset.h"
#include "job/spec.h"
#include "ledger/types.h"
#include "node/blob_store.h"

namespace cairn::node {

struct JobInputs {
  job::JobSpec spec;  // Paths point into the blob store.
  data::Dataset dataset;
  std::optional<data::Dataset> evaluation;
};

// Loads job `job` from the manifest and input blobs in `blobs`, which must
// all be there (NotFound names the first missing one). Checks that the spec
// is the job and that the inputs have the content its id commits to.
Result<JobInputs> LoadJobInputs(const ledger::Job& job, const BlobStore& blobs);

}  // namespace cairn::node
