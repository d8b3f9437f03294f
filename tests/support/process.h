// Runs a real program (normally the `cairn` binary) and captures what a user
// at a terminal would see: exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace cairn::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal.
  std::string out;
  std::string err;
};

ProcessResult RunProcess(const std::vector<std::string>& argv);

// A child started in the background, its output captured to files.
struct BackgroundProcess {
  int pid = -1;
  std::string out_path;
  std::string err_path;
};
// REQUIRES: capture_dir exists and outlives the process.
BackgroundProcess StartProcess(const std::vector<std::string>& argv, const std::string& capture_dir);
// Waits for it; exit_code -1 if a signal ended it.
ProcessResult WaitProcess(const BackgroundProcess& process);

}  // namespace cairn::testing
