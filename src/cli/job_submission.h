// Submitting a job to the network (`cairn job submit`, `cairn devnet`):
// the spec and every input file go to the node as blobs, then a signed
// post_job carries the fee and the manifest's hash.
#pragma once

#include <string>

#include "cli/job_loading.h"
#include "crypto/keys.h"
#include "net/clients.h"

namespace cairn::cli {

struct SubmitOptions {
  ledger::Amount fee = 0;
  ledger::Amount solver_stake = 0;
  uint8_t replicas = 1;  // Solvers that train it independently (each paid `fee`).
  uint64_t claim_window_blocks = 600;
  uint64_t commit_window_blocks = 36'000;
  bool quiet = false;
};

struct Submitted {
  Hash256 job_id;
  Hash256 manifest_hash;
  uint64_t uploaded_bytes = 0;
};

// Uploads the job file's spec and inputs and posts it; waits for the post to
// be in a block. `job_file` is the job's TOML path (loaded here).
Result<Submitted> SubmitJob(net::NodeQueries& node, const crypto::KeyPair& key, const std::string& job_file,
                            const SubmitOptions& options);

}  // namespace cairn::cli
