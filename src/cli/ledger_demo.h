#pragma once

#include <string>

namespace cairn::cli {

struct DemoOptions {
  std::string data_dir;
  bool reset = false;
  // When set, the honest job is this job file, trained for real by the
  // solver and replayed by the verifier; its certificate goes on the ledger.
  std::string job_file;
};

// Runs the life of two jobs on a fresh durable ledger, with the sequencer
// producing blocks, then audits the result. Stands in for `cairn devnet`
// until the network exists.
int RunLedgerDemo(const DemoOptions& options);

}  // namespace cairn::cli
