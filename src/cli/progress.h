// Training progress for people: a one-line bar on a terminal, plain log lines
// (at most every few seconds) when stderr is a file or a pipe.
#pragma once

#include <chrono>
#include <string>

#include "train/train.h"

namespace cairn::cli {

class ProgressReporter {
 public:
  explicit ProgressReporter(std::string label);
  ~ProgressReporter();  // Ends the bar's line.
  void Update(const train::Progress& p);

 private:
  std::string label_;
  bool tty_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point last_log_;
};

std::string FormatDuration(double seconds);

}  // namespace cairn::cli
