// Job manifests: how a job travels over the network. A manifest is the
// job's canonical spec (job/spec.h, paths excluded) plus the BLAKE2b-256 and
// size of each input file, and is itself a blob; its hash goes on the ledger
// with the job (PostJobOp.manifest_hash). A solver fetches the manifest,
// checks that its spec has the job's id, fetches each input blob, and points
// the spec's paths at the blobs in its own data directory: nothing a peer
// sends can name a path. The job id then covers the inputs' content
// (dataset content hashes, model file hashes), which ResolveJobInputs checks.
// Layout: docs/protocol.md, "Job manifests".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "job/spec.h"
#include "node/blob_store.h"

namespace cairn::node {

enum class InputRole : uint8_t {
  kDatasetFeatures = 1,  // IDX images or the CSV file.
  kDatasetLabels = 2,    // IDX labels.
  kEvaluationFeatures = 3,
  kEvaluationLabels = 4,
  kTorchScript = 5,
  kWeights = 6,
};
const char* InputRoleName(InputRole role);

struct ManifestInput {
  InputRole role = InputRole::kDatasetFeatures;
  Hash256 hash;  // BLAKE2b-256 of the file's bytes: its blob address.
  uint64_t size = 0;
  friend bool operator==(const ManifestInput&, const ManifestInput&) = default;
};

struct JobManifest {
  Bytes spec;  // EncodeJobSpec of the resolved spec.
  std::vector<ManifestInput> inputs;  // Sorted by role, one per role the spec uses.
  friend bool operator==(const JobManifest&, const JobManifest&) = default;
};

inline constexpr size_t kManifestBytesMax = 2u << 20;

Bytes EncodeManifest(const JobManifest& manifest);
// Strict: unknown roles, roles out of order, trailing bytes and a spec that
// does not decode are refused.
Result<JobManifest> DecodeManifest(ByteView bytes);

// The input files a resolved spec names, by role (paths as given).
std::vector<std::pair<InputRole, std::string>> InputFiles(const job::JobSpec& spec);

// Copies each input file of `spec` (resolved, with paths) into `blobs` and
// returns the manifest. REQUIRES: job::InputsResolved(spec).
Result<JobManifest> BuildManifest(const job::JobSpec& spec, BlobStore* blobs);

// Decodes the manifest's spec, checks it is job `job_id` and that it has
// exactly the inputs its kinds use, and sets its paths to the input blobs in
// `blobs` (which must all be complete).
Result<job::JobSpec> MaterializeJob(const JobManifest& manifest, const Hash256& job_id, const BlobStore& blobs);

}  // namespace cairn::node
