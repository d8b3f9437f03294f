// Child: a sandboxed child process (normally this binary re-executed as
// `/proc/self/exe worker ...`) under resource limits, with a message channel
// to it and a record of why it ended (docs/sandbox.md).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cairn/status.h"
#include "sandbox/channel.h"
#include "sandbox/limits.h"

namespace cairn::sandbox {

// The descriptors a spawned child starts with. Every other descriptor of the
// parent is closed in the child, whether or not it was close-on-exec.
inline constexpr int kChildStdinFd = 0;         // /dev/null
inline constexpr int kChildStdoutFd = 1;        // the output capture pipe (shared with stderr)
inline constexpr int kChildStderrFd = 2;        // the output capture pipe
inline constexpr int kChildChannelReadFd = 3;   // messages from the parent
inline constexpr int kChildChannelWriteFd = 4;  // messages to the parent

// The parent keeps the last this many bytes of the child's stdout and stderr.
inline constexpr size_t kStderrTailBytesMax = 64 * 1024;
// ExitInfo::ToString quotes at most this much of that tail.
inline constexpr size_t kStderrQuoteBytesMax = 4 * 1024;

struct SpawnOptions {
  // argv[0] is the path executed, as is (no PATH search): "/proc/self/exe"
  // re-executes the running binary. REQUIRES: not empty.
  std::vector<std::string> argv;
  // The child inherits the parent's environment, changed by these entries in
  // order: "NAME=value" sets NAME, a bare "NAME" removes it (use that for
  // secrets the worker must not see).
  std::vector<std::string> env_overrides;
  // RLIMITs are installed in the child between fork and exec; wall_seconds is
  // the deadline Wait() enforces.
  Limits limits;
  // The child leads a process group of its own, and Kill() and the wall limit
  // kill that whole group; when it exits, any process left in its group is
  // killed too.
  bool new_process_group = true;
  // The kernel SIGKILLs the child if the parent dies (PR_SET_PDEATHSIG), so a
  // crashed node leaves no worker running. NOTE: Linux sends it when the
  // *thread* that called Spawn exits, so spawn from a thread that outlives
  // the child (or set this false).
  bool kill_with_parent = true;
  // The bound of the channel, on the parent's side.
  uint64_t message_bytes_max = kMessageBytesMax;
};

// Why a child ended.
enum class ExitKind {
  kExited,            // It called exit; see exit_code.
  kCpuLimit,          // SIGXCPU, or SIGKILL at the hard CPU limit.
  kWallLimit,         // We killed it when Wait's deadline passed.
  kFileSizeLimit,     // SIGXFSZ: it wrote past RLIMIT_FSIZE.
  kCrashed,           // SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE or SIGTRAP.
  kSandboxViolation,  // SIGSYS: a system call the filter kills on (a foreign ABI).
  kKilled,            // SIGKILL not sent by us: most likely the OOM killer.
  kKilledOnRequest,   // Kill() was called.
  kOtherSignal,       // Any other signal (SIGTERM from an operator, ...).
};

const char* ExitKindName(ExitKind kind);

// How a child ended, as data and as words a user can act on.
struct ExitInfo {
  ExitKind kind = ExitKind::kExited;
  int exit_code = -1;        // kExited only.
  int signal = 0;            // The terminating signal, 0 for kExited.
  double cpu_seconds = 0;    // User + system time of the child.
  // A predicate for a sentence whose subject is the child: "exited with code
  // 3", "exceeded its CPU time limit of 60 s", "did not finish within 600 s
  // (killed)", "crashed (SIGSEGV)", "was killed (SIGKILL; out of memory?)".
  std::string description;
  // The last kStderrTailBytesMax bytes the child wrote to stdout or stderr.
  std::string stderr_tail;

  bool ok() const { return kind == ExitKind::kExited && exit_code == 0; }
  // description, then the end of stderr_tail (at most kStderrQuoteBytesMax).
  std::string ToString() const;
};

// A spawned child process and the parent's side of its channel. Owns the
// process: the destructor kills it (and its group) if it is still running and
// always reaps it, so no child outlives its Child and none becomes a zombie.
// Move-only.
//
// Thread-safety: Kill(), StderrTail() and pid() may be called from any thread,
// also while another thread is in Wait(); channel() follows Channel's rules;
// everything else, including Wait() and destruction, from one thread at a
// time. Wait() relies on being the only one to reap the child: the process
// must not set SIGCHLD to SIG_IGN nor call wait() for any child.
class Child {
 public:
  // Forks and executes options.argv. Fails (and leaves nothing running) when
  // the options are invalid or the program cannot be executed; the message
  // names the step ("cannot start /bin/x: execve: No such file or directory").
  static Result<Child> Spawn(const SpawnOptions& options);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const;
  Channel& channel();

  // Waits until the child ends, at most options.limits.wall_seconds after
  // Spawn (0: no limit); past that it kills the child's process group and
  // reports kWallLimit. Once the child has ended, every call returns the same
  // ExitInfo. Fails only if the child cannot be waited for (someone else
  // reaped it).
  Result<ExitInfo> Wait();
  // The same with a limit of `wall_seconds` from now (0: no limit).
  Result<ExitInfo> Wait(double wall_seconds);

  // Sends SIGKILL to the child (its group, with new_process_group) unless it
  // has already been reaped. Does not wait: call Wait().
  void Kill();

  // The end of what the child wrote to stdout and stderr so far.
  std::string StderrTail() const;

 private:
  struct Impl;
  explicit Child(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// For the worker (the spawned program): its channel to the parent, on
// kChildChannelReadFd and kChildChannelWriteFd. Fails if those descriptors
// are not the pipes Spawn installs. Call it once: the Channel owns them.
Result<Channel> ChannelToParent(uint64_t message_bytes_max = kMessageBytesMax);

}  // namespace cairn::sandbox
