#pragma once

#include <string>

namespace cairn::cli {

struct DemoOptions {
  std::string data_dir;
  bool reset = false;
};

// Runs the life of two jobs on a fresh durable ledger, with the sequencer
// producing blocks, then audits the result. Stands in for `cairn devnet`
// until the network exists.
int RunLedgerDemo(const DemoOptions& options);

}  // namespace cairn::cli
