// Resource limits for a sandboxed child process (docs/sandbox.md).
//
// The RLIMITs are installed between fork and exec by Child::Spawn (see
// process.h), so nothing the child runs is ever unlimited; ApplyLimits is the
// same installation for a process that wants to lower its own limits.
#pragma once

#include <sys/resource.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "cairn/status.h"

namespace cairn::sandbox {

// Defaults for a training worker. Each can be overridden per job; 0 means
// "no limit of ours" (the inherited limit stays).
//
// Address space counts reservations, not resident memory: every thread costs
// its stack (8 MiB) and glibc may reserve a 64 MiB malloc arena per thread, so
// this is generous on purpose.
inline constexpr uint64_t kDefaultAddressSpaceBytes = uint64_t{16} << 30;
// CPU time is summed over all threads of the process.
inline constexpr uint64_t kDefaultCpuSeconds = 4 * 3600;
// The worker has no reason to write files at all (results go through the
// channel); this only bounds what it might write before ForbidOpeningFiles.
inline constexpr uint64_t kDefaultFileSizeBytes = uint64_t{16} << 20;
inline constexpr uint64_t kDefaultOpenFiles = 256;
inline constexpr double kDefaultWallSeconds = 4 * 3600.0;

// The hard CPU limit is this much above the soft one, so that SIGXCPU (which
// names the cause) arrives before the kernel's SIGKILL.
inline constexpr uint64_t kCpuHardLimitGraceSeconds = 2;
// Below this the child could not even hold its standard and channel
// descriptors plus a few inputs.
inline constexpr uint64_t kOpenFilesMin = 16;

// What a sandboxed child may use. A value type; 0 in any field = unlimited.
struct Limits {
  uint64_t address_space_bytes = kDefaultAddressSpaceBytes;  // RLIMIT_AS
  uint64_t cpu_seconds = kDefaultCpuSeconds;                 // RLIMIT_CPU (soft; hard = +grace)
  uint64_t file_size_bytes = kDefaultFileSizeBytes;          // RLIMIT_FSIZE
  uint64_t open_files = kDefaultOpenFiles;                   // RLIMIT_NOFILE
  double wall_seconds = kDefaultWallSeconds;                 // enforced by the parent (Child::Wait)

  // Every field 0: no limit of ours at all (RLIMIT_CORE is still 0).
  static Limits Unlimited() { return Limits{0, 0, 0, 0, 0.0}; }
};

// InvalidArgument when a field is out of range (open_files below
// kOpenFilesMin, a negative or non-finite wall_seconds).
Status ValidateLimits(const Limits& limits);

// One setrlimit call.
struct RlimitSetting {
  int resource = 0;
  struct rlimit value {};
};

// The setrlimit calls that install a Limits, computed ahead of time so that a
// freshly forked child only has to issue system calls (no allocation, no
// Status: only async-signal-safe work is allowed between fork and exec).
struct RlimitPlan {
  static constexpr size_t kSettingsMax = 5;
  std::array<RlimitSetting, kSettingsMax> settings{};
  size_t count = 0;
};

// Validates `limits` and plans them against this process's current limits: a
// limit is never raised above the current hard limit (that needs privilege;
// the result is then the stricter of the two). Always includes RLIMIT_CORE = 0
// so that a crash never writes the worker's memory (its inputs) to disk.
Result<RlimitPlan> PlanRlimits(const Limits& limits);

// Installs `limits` in the calling process and sets PR_SET_NO_NEW_PRIVS (the
// process can never gain privileges again, e.g. through a setuid binary;
// seccomp filters also require it). Child::Spawn has already done this for
// its children; a worker may call it again to lower its limits further.
// Fails after RestrictProcess (which refuses setrlimit).
Status ApplyLimits(const Limits& limits);

// The raw installation of a plan, safe to call between fork and exec.
// Returns 0, or the errno of the first call that failed with *failed_resource
// set to its resource (-1 for PR_SET_NO_NEW_PRIVS).
int InstallRlimitPlan(const RlimitPlan& plan, int* failed_resource) noexcept;

// "RLIMIT_AS", ... for messages.
const char* RlimitName(int resource);

// "2 s", "1.5 s", "0.25 s": a duration as it appears in user-facing messages.
std::string FormatSeconds(double seconds);

}  // namespace cairn::sandbox
