// Helpers for the tests that spawn sandbox_probe (see sandbox_probe.cpp).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/process.h"

namespace cairn::sandbox::testing {

// Generous: the machine is shared; no test should come near it.
inline constexpr double kProbeWallSeconds = 120;

inline SpawnOptions ProbeOptions(const std::string& lockdown, const std::string& action,
                                 const std::vector<std::string>& args = {}) {
  SpawnOptions options;
  options.argv = {CAIRN_SANDBOX_PROBE, lockdown, action};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.limits.wall_seconds = kProbeWallSeconds;
  return options;
}

inline Result<ExitInfo> RunProbe(const SpawnOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(Child child, Child::Spawn(options));
  return child.Wait();
}

// The outcome the probe reported for `action` ("ok", "errno EPERM", ...), or
// a text saying there was none (with how the probe ended).
inline std::string OutcomeOf(const ExitInfo& info, const std::string& action) {
  const std::string prefix = "RESULT " + action + " ";
  std::istringstream lines(info.stderr_tail);
  for (std::string line; std::getline(lines, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) return line.substr(prefix.size());
  }
  return "<no result; probe " + info.ToString() + ">";
}

// Runs the probe and returns its outcome for `action` (or why there was none).
inline std::string Probe(const std::string& lockdown, const std::string& action,
                         const std::vector<std::string>& args = {}) {
  auto info = RunProbe(ProbeOptions(lockdown, action, args));
  if (!info.ok()) return "<spawn failed: " + info.status().ToString() + ">";
  if (!info->ok()) return "<probe " + info->ToString() + ">";
  return OutcomeOf(*info, action);
}

// True once `pid` is gone or a zombie (a process reparented to an init that
// does not reap stays a zombie, but it runs no more).
inline bool IsGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren == std::string::npos || (paren + 2 < text.size() && text[paren + 2] == 'Z');
}

// Waits (generously) for IsGone.
inline bool BecomesGone(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return IsGone(pid);
}

}  // namespace cairn::sandbox::testing
