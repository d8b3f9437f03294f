// A child process for the crash test: started with its stdout on a pipe, its
// lines read as they come until a deadline, then SIGKILLed. (To run a
// command to completion, use tests/support/process.h.)
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cairn::ledger::crash {

// A running child process whose stdout we read line by line (its stderr goes
// to ours, so its error messages land in the test log). The destructor
// SIGKILLs and reaps a child that is still running. Not thread-safe.
class ChildProcess {
 public:
  // REQUIRES: argv[0] is the path of an executable.
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Collects output until `deadline`. Returns false if the child closed its
  // stdout (exited) before then.
  bool ReadUntil(std::chrono::steady_clock::time_point deadline);
  // Collects output until it holds `count` complete lines or `deadline`
  // passes. Returns whether it got them.
  bool ReadLines(size_t count, std::chrono::steady_clock::time_point deadline);
  // SIGKILL, reap, then collect what it wrote before it died.
  void Kill();
  // Waits for the child to exit by itself and collects all its output;
  // returns its exit code (128 + signal if killed by a signal).
  int Wait();
  // Complete lines read so far (a line cut short by a kill is left out).
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  ChildProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  // Reads what is available; false at end of file.
  bool ReadAvailable();
  void ReadToEnd();

  pid_t pid_;
  int fd_;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

}  // namespace cairn::ledger::crash
