#include "sandbox/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "sandbox/unique_fd.h"

extern char** environ;

namespace cairn::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// Descriptors the child must receive are first moved at or above this, so
// that installing them as 0..4 can never overwrite one another.
constexpr int kFirstHighFd = 10;
// The child keeps its setup-error pipe here until exec closes it.
constexpr int kChildSetupErrorFd = 5;
// Bigger pipes for the channel: checkpoints go through it. 1 MiB is what an
// unprivileged process may ask for by default (fs/pipe-max-size).
constexpr int kChannelPipeBytes = 1 << 20;
// Exit code of a child whose parent died before it could arm PDEATHSIG.
constexpr int kExitParentGone = 125;
// Without a pidfd, Wait polls this often.
constexpr auto kWaitPollInterval = std::chrono::milliseconds(10);

// ---------------------------------------------------------------------------
// Between fork and exec: only async-signal-safe system calls, no allocation.

enum class SetupStage : int32_t { kDescriptors = 1, kDeathSignal, kProcessGroup, kLimits, kExec };

struct SetupError {
  int32_t stage = 0;
  int32_t error = 0;
  int32_t resource = 0;  // For kLimits.
};

// Everything the forked child needs, prepared by the parent.
struct ExecPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int sources[5] = {-1, -1, -1, -1, -1};  // Installed as descriptors 0..4.
  int setup_error_fd = -1;
  RlimitPlan rlimits;
  bool new_process_group = true;
  bool kill_with_parent = true;
  pid_t parent_pid = 0;
};

[[noreturn]] void FailSetup(int fd, SetupStage stage, int error, int resource = 0) noexcept {
  SetupError report{static_cast<int32_t>(stage), error, resource};
  // 12 bytes: one atomic pipe write.
  ssize_t ignored = ::write(fd, &report, sizeof(report));
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void RunChild(const ExecPlan& plan) noexcept {
  // Signals: default dispositions (an ignored SIGXCPU or SIGPIPE would survive
  // exec), then the empty mask once everything is in place. The parent
  // blocked every signal around fork, so no handler of the parent can run
  // here.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);  // glibc-internal ones fail
  }

  // Descriptors: 0..4 as documented, the setup-error pipe at 5 (close-on-exec),
  // nothing else. Every source is >= kFirstHighFd, so no dup2 clobbers one.
  for (int target = 0; target < 5; ++target) {
    if (::dup2(plan.sources[target], target) < 0) FailSetup(plan.setup_error_fd, SetupStage::kDescriptors, errno);
  }
  if (::dup2(plan.setup_error_fd, kChildSetupErrorFd) < 0 ||
      ::fcntl(kChildSetupErrorFd, F_SETFD, FD_CLOEXEC) < 0) {
    FailSetup(plan.setup_error_fd, SetupStage::kDescriptors, errno);
  }
  const int first_closed = kChildSetupErrorFd + 1;
  if (::syscall(SYS_close_range, first_closed, ~0U, 0) != 0) {
    // Kernels before 5.9: close one by one, up to the descriptor limit.
    struct rlimit files {};
    rlim_t last = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY ? files.rlim_cur : 65536;
    for (rlim_t fd = first_closed; fd < last; ++fd) ::close(static_cast<int>(fd));
  }

  if (plan.kill_with_parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
      FailSetup(kChildSetupErrorFd, SetupStage::kDeathSignal, errno);
    }
    // The parent may have died before the line above: then nobody will ever
    // send the signal.
    if (::getppid() != plan.parent_pid) ::_exit(kExitParentGone);
  }
  if (plan.new_process_group && ::setpgid(0, 0) != 0) FailSetup(kChildSetupErrorFd, SetupStage::kProcessGroup, errno);

  int failed_resource = 0;
  int error = InstallRlimitPlan(plan.rlimits, &failed_resource);
  if (error != 0) FailSetup(kChildSetupErrorFd, SetupStage::kLimits, error, failed_resource);

  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  ::execve(plan.path, plan.argv, plan.envp);
  FailSetup(kChildSetupErrorFd, SetupStage::kExec, errno);
}

// ---------------------------------------------------------------------------
// Parent side.

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Moves `fd` to a close-on-exec descriptor >= kFirstHighFd.
Status MoveHigh(UniqueFd* fd) {
  int high = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, kFirstHighFd);
  if (high < 0) return IoError(Errno("sandbox: fcntl(F_DUPFD_CLOEXEC)"));
  fd->Reset(high);
  return Status::Ok();
}

Status MakePipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ResourceExhausted(Errno("sandbox: pipe2"));
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  CAIRN_RETURN_IF_ERROR(MoveHigh(read_end));
  return MoveHigh(write_end);
}

Result<std::vector<std::string>> BuildEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) env.emplace_back(*entry);
  for (const std::string& change : overrides) {
    const size_t equals = change.find('=');
    const std::string name = change.substr(0, equals);
    if (name.empty()) return InvalidArgument("sandbox: environment override '" + change + "' has no name");
    const std::string prefix = name + "=";
    std::erase_if(env, [&](const std::string& e) { return e.compare(0, prefix.size(), prefix) == 0; });
    if (equals != std::string::npos) env.push_back(change);
  }
  return env;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string DescribeSetupError(const SetupError& report) {
  switch (static_cast<SetupStage>(report.stage)) {
    case SetupStage::kDescriptors: return std::string("installing descriptors: ") + std::strerror(report.error);
    case SetupStage::kDeathSignal: return std::string("prctl(PR_SET_PDEATHSIG): ") + std::strerror(report.error);
    case SetupStage::kProcessGroup: return std::string("setpgid: ") + std::strerror(report.error);
    case SetupStage::kLimits:
      return std::string(report.resource < 0 ? "prctl(PR_SET_NO_NEW_PRIVS)"
                                             : std::string("setrlimit(") + RlimitName(report.resource) + ")") +
             ": " + std::strerror(report.error);
    case SetupStage::kExec: return std::string("execve: ") + std::strerror(report.error);
  }
  return "an unknown step failed";
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

bool IsCrashSignal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

// Drains the child's stdout+stderr pipe into a bounded tail on a thread of
// its own, so that a chatty child never blocks on a full pipe while the
// parent is busy elsewhere (on the channel, for hours). Owns the read end,
// a stop eventfd and the thread. Tail() is thread-safe; Start and Finish are
// called by the owner only.
class OutputCapture {
 public:
  OutputCapture() = default;
  OutputCapture(const OutputCapture&) = delete;
  OutputCapture& operator=(const OutputCapture&) = delete;
  ~OutputCapture() { Finish(); }

  Status Start(UniqueFd read_end) {
    fd_ = std::move(read_end);
    int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) != 0) return IoError(Errno("sandbox: fcntl"));
    stop_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_.valid()) return ResourceExhausted(Errno("sandbox: eventfd"));
    // The thread starts with every signal blocked, so that it never runs the
    // node's signal handlers (they belong to the node's own threads).
    sigset_t all, old_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    Status status;
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      status = ResourceExhausted(std::string("sandbox: cannot start the output capture thread: ") + e.what());
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return status;
  }

  // Takes whatever is still in the pipe and stops. Call once the child (and
  // its group) is dead; an escaped grandchild holding the pipe open cannot
  // make this hang.
  void Finish() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    ssize_t ignored = ::write(stop_.get(), &one, sizeof(one));
    (void)ignored;
    thread_.join();
    fd_.Reset();
  }

  std::string Tail() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tail_;
  }

 private:
  void Run() {
    char buffer[16 * 1024];
    for (;;) {
      pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      const bool stopping = (fds[1].revents & POLLIN) != 0;
      // Read until the pipe is empty (EAGAIN) or closed (0).
      for (;;) {
        ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
        if (n > 0) {
          Append(buffer, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return;
        break;
      }
      if (stopping) return;
    }
  }

  void Append(const char* data, size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    if (size >= kStderrTailBytesMax) {
      tail_.assign(data + size - kStderrTailBytesMax, kStderrTailBytesMax);
      return;
    }
    tail_.append(data, size);
    if (tail_.size() > kStderrTailBytesMax) tail_.erase(0, tail_.size() - kStderrTailBytesMax);
  }

  UniqueFd fd_;
  UniqueFd stop_;
  mutable std::mutex mu_;
  std::string tail_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace

const char* ExitKindName(ExitKind kind) {
  switch (kind) {
    case ExitKind::kExited: return "exited";
    case ExitKind::kCpuLimit: return "cpu limit";
    case ExitKind::kWallLimit: return "wall limit";
    case ExitKind::kFileSizeLimit: return "file size limit";
    case ExitKind::kCrashed: return "crashed";
    case ExitKind::kSandboxViolation: return "sandbox violation";
    case ExitKind::kKilled: return "killed";
    case ExitKind::kKilledOnRequest: return "killed on request";
    case ExitKind::kOtherSignal: return "other signal";
  }
  return "unknown";
}

std::string ExitInfo::ToString() const {
  if (stderr_tail.empty()) return description;
  size_t start = stderr_tail.size() > kStderrQuoteBytesMax ? stderr_tail.size() - kStderrQuoteBytesMax : 0;
  if (start > 0) {
    // Begin at a line boundary when there is one in the quoted part.
    size_t newline = stderr_tail.find('\n', start);
    if (newline != std::string::npos && newline + 1 < stderr_tail.size()) start = newline + 1;
  }
  std::string quoted = stderr_tail.substr(start);
  while (!quoted.empty() && quoted.back() == '\n') quoted.pop_back();
  return description + "; its last output" + (start > 0 ? " (truncated)" : "") + ":\n" + quoted;
}

struct Child::Impl {
  Impl(pid_t child_pid, const SpawnOptions& options, Channel child_channel)
      : pid(child_pid),
        process_group(options.new_process_group),
        limits(options.limits),
        spawned_at(Clock::now()),
        channel(std::move(child_channel)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!reaped) {
        KillLocked();
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        reaped = true;
      }
    }
    capture.Finish();
  }

  // REQUIRES: mu held and the child not reaped (its pid, and so its process
  // group id, cannot have been reused).
  void KillLocked() { ::kill(process_group ? -pid : pid, SIGKILL); }

  Result<ExitInfo> WaitUntil(std::optional<Clock::time_point> deadline, double wall_seconds);
  ExitInfo Describe(int status, const rusage& usage) const;

  const pid_t pid;
  const bool process_group;
  const Limits limits;
  const Clock::time_point spawned_at;
  UniqueFd pidfd;  // -1 when the kernel has no pidfd_open (before 5.3).
  Channel channel;
  OutputCapture capture;

  mutable std::mutex mu;
  bool reaped = false;             // GUARDED_BY(mu)
  bool killed_on_request = false;  // GUARDED_BY(mu)
  bool killed_at_deadline = false;  // Only the waiting thread touches these two.
  double deadline_seconds = 0;
  std::optional<ExitInfo> exit;  // Set once reaped; only the waiting thread.
};

Result<ExitInfo> Child::Impl::WaitUntil(std::optional<Clock::time_point> deadline, double wall_seconds) {
  if (exit) return *exit;
  for (;;) {
    // WNOWAIT leaves the zombie in place, so its pid and process group id stay
    // reserved until we have killed whatever is left in the group.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      return Internal(Errno("sandbox: waitid(" + std::to_string(pid) + ")") +
                      " (was the child reaped elsewhere, or SIGCHLD ignored?)");
    }
    if (info.si_pid == pid) break;

    int timeout_ms = -1;
    if (deadline) {
      auto left = *deadline - Clock::now();
      if (left <= Clock::duration::zero()) {
        {
          std::lock_guard<std::mutex> lock(mu);
          KillLocked();
        }
        killed_at_deadline = true;
        deadline_seconds = wall_seconds;
        deadline.reset();  // Now wait for it to die, however long SIGKILL takes.
        continue;
      }
      timeout_ms = static_cast<int>(
          std::min<int64_t>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), INT_MAX));
    }
    if (pidfd.valid()) {
      pollfd entry{pidfd.get(), POLLIN, 0};
      ::poll(&entry, 1, timeout_ms);  // EINTR or not, the loop re-checks.
    } else {
      auto nap = kWaitPollInterval;
      if (timeout_ms >= 0) nap = std::min(nap, std::chrono::milliseconds(timeout_ms));
      std::this_thread::sleep_for(nap);
    }
  }

  int status = 0;
  rusage usage{};
  {
    std::lock_guard<std::mutex> lock(mu);
    // The leader is gone; so must be anything it left in its group.
    if (process_group) ::kill(-pid, SIGKILL);
    pid_t reaped_pid;
    while ((reaped_pid = ::wait4(pid, &status, 0, &usage)) < 0 && errno == EINTR) {
    }
    if (reaped_pid != pid) return Internal(Errno("sandbox: wait4(" + std::to_string(pid) + ")"));
    reaped = true;
  }
  pidfd.Reset();
  capture.Finish();  // Everything it wrote is in the tail now.
  exit = Describe(status, usage);
  return *exit;
}

ExitInfo Child::Impl::Describe(int status, const rusage& usage) const {
  ExitInfo info;
  info.cpu_seconds = Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
  info.stderr_tail = capture.Tail();
  if (WIFEXITED(status)) {
    info.kind = ExitKind::kExited;
    info.exit_code = WEXITSTATUS(status);
    info.description = "exited with code " + std::to_string(info.exit_code);
    return info;
  }
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  info.signal = sig;
  const std::string name = SignalName(sig);
  bool killed_on_request_copy;
  {
    std::lock_guard<std::mutex> lock(mu);
    killed_on_request_copy = killed_on_request;
  }
  const bool over_cpu = limits.cpu_seconds != 0 && info.cpu_seconds >= static_cast<double>(limits.cpu_seconds);
  if (sig == SIGKILL && killed_at_deadline) {
    info.kind = ExitKind::kWallLimit;
    info.description = "did not finish within " + FormatSeconds(deadline_seconds) + " (killed)";
  } else if (sig == SIGKILL && killed_on_request_copy) {
    info.kind = ExitKind::kKilledOnRequest;
    info.description = "was killed on request (SIGKILL)";
  } else if (sig == SIGXCPU || (sig == SIGKILL && over_cpu)) {
    // SIGKILL with the CPU time used past the soft limit: it ignored SIGXCPU
    // and met the hard limit.
    info.kind = ExitKind::kCpuLimit;
    info.description = "exceeded its CPU time limit of " + FormatSeconds(static_cast<double>(limits.cpu_seconds));
  } else if (sig == SIGXFSZ) {
    info.kind = ExitKind::kFileSizeLimit;
    info.description = "exceeded its file size limit of " + std::to_string(limits.file_size_bytes) + " bytes";
  } else if (sig == SIGSYS) {
    info.kind = ExitKind::kSandboxViolation;
    info.description = "was stopped by the sandbox (SIGSYS: a forbidden kind of system call)";
  } else if (IsCrashSignal(sig)) {
    info.kind = ExitKind::kCrashed;
    info.description = "crashed (" + name + ")";
  } else if (sig == SIGKILL) {
    info.kind = ExitKind::kKilled;
    info.description = "was killed (SIGKILL; out of memory?)";
  } else {
    info.kind = ExitKind::kOtherSignal;
    info.description = "was killed by " + name;
  }
  return info;
}

Result<Child> Child::Spawn(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty()) return InvalidArgument("sandbox: spawn needs a program");
  CAIRN_ASSIGN_OR_RETURN(RlimitPlan rlimits, PlanRlimits(options.limits));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> env, BuildEnvironment(options.env_overrides));
  const std::string& program = options.argv[0];
  std::vector<char*> argv = CStrings(options.argv);
  std::vector<char*> envp = CStrings(env);

  UniqueFd to_child_read, to_child_write, from_child_read, from_child_write;
  UniqueFd output_read, output_write, setup_read, setup_write;
  CAIRN_RETURN_IF_ERROR(MakePipe(&to_child_read, &to_child_write));
  CAIRN_RETURN_IF_ERROR(MakePipe(&from_child_read, &from_child_write));
  CAIRN_RETURN_IF_ERROR(MakePipe(&output_read, &output_write));
  CAIRN_RETURN_IF_ERROR(MakePipe(&setup_read, &setup_write));
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return IoError(Errno("sandbox: open /dev/null"));
  CAIRN_RETURN_IF_ERROR(MoveHigh(&dev_null));
  // Best effort: fewer wake-ups for large messages.
  ::fcntl(to_child_write.get(), F_SETPIPE_SZ, kChannelPipeBytes);
  ::fcntl(from_child_write.get(), F_SETPIPE_SZ, kChannelPipeBytes);

  ExecPlan plan;
  plan.path = program.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.sources[kChildStdinFd] = dev_null.get();
  plan.sources[kChildStdoutFd] = output_write.get();
  plan.sources[kChildStderrFd] = output_write.get();
  plan.sources[kChildChannelReadFd] = to_child_read.get();
  plan.sources[kChildChannelWriteFd] = from_child_write.get();
  plan.setup_error_fd = setup_write.get();
  plan.rlimits = rlimits;
  plan.new_process_group = options.new_process_group;
  plan.kill_with_parent = options.kill_with_parent;
  plan.parent_pid = ::getpid();

  // fork rather than posix_spawn: the RLIMITs, no_new_privs and the death
  // signal must be set between fork and exec. Every signal is blocked around
  // fork so that no handler of ours ever runs in the child.
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  const pid_t pid = ::fork();
  if (pid == 0) RunChild(plan);
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) return ResourceExhausted("sandbox: fork: " + std::string(std::strerror(fork_errno)));

  // Also from here, so that the group exists before Spawn returns whatever
  // the scheduler did (fails harmlessly once the child has exec'd).
  if (options.new_process_group) ::setpgid(pid, pid);
  to_child_read.Reset();
  from_child_write.Reset();
  output_write.Reset();
  setup_write.Reset();
  dev_null.Reset();

  // EOF on the setup pipe means exec succeeded (close-on-exec); a report
  // means a step failed and the child is exiting.
  SetupError report;
  size_t got = 0;
  while (got < sizeof(report)) {
    ssize_t n = ::read(setup_read.get(), reinterpret_cast<char*>(&report) + got, sizeof(report) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got < sizeof(report)) return Internal("sandbox: cannot start " + program + ": truncated setup report");
    return FailedPrecondition("sandbox: cannot start " + program + ": " + DescribeSetupError(report));
  }

  auto impl = std::make_unique<Impl>(
      pid, options, Channel(from_child_read.Release(), to_child_write.Release(), options.message_bytes_max));
  // Close-on-exec by construction; -1 before Linux 5.3 (Wait then polls).
  impl->pidfd.Reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // On failure the Impl destructor kills and reaps the child.
  CAIRN_RETURN_IF_ERROR(impl->capture.Start(std::move(output_read)));
  return Child(std::move(impl));
}

Child::Child(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Child::Child(Child&& other) noexcept = default;
Child& Child::operator=(Child&& other) noexcept = default;
Child::~Child() = default;

pid_t Child::pid() const {
  CAIRN_ASSERT(impl_ != nullptr);
  return impl_->pid;
}

Channel& Child::channel() {
  CAIRN_ASSERT(impl_ != nullptr);
  return impl_->channel;
}

Result<ExitInfo> Child::Wait() {
  CAIRN_ASSERT(impl_ != nullptr);
  const double wall_seconds = impl_->limits.wall_seconds;
  std::optional<Clock::time_point> deadline;
  if (wall_seconds > 0) {
    deadline = impl_->spawned_at +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wall_seconds));
  }
  return impl_->WaitUntil(deadline, wall_seconds);
}

Result<ExitInfo> Child::Wait(double wall_seconds) {
  CAIRN_ASSERT(impl_ != nullptr);
  CAIRN_ASSERT(wall_seconds >= 0 && wall_seconds < 1e9);
  std::optional<Clock::time_point> deadline;
  if (wall_seconds > 0) {
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wall_seconds));
  }
  return impl_->WaitUntil(deadline, wall_seconds);
}

void Child::Kill() {
  CAIRN_ASSERT(impl_ != nullptr);
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->reaped) return;
  impl_->killed_on_request = true;
  impl_->KillLocked();
}

std::string Child::StderrTail() const {
  CAIRN_ASSERT(impl_ != nullptr);
  return impl_->capture.Tail();
}

Result<Channel> ChannelToParent(uint64_t message_bytes_max) {
  auto check = [](int fd, int access_mode) -> Status {
    int flags = ::fcntl(fd, F_GETFL);
    struct stat st {};
    if (flags < 0 || ::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || (flags & O_ACCMODE) != access_mode) {
      return FailedPrecondition("sandbox: descriptor " + std::to_string(fd) +
                                " is not the channel pipe Child::Spawn installs (was this process spawned by it?)");
    }
    return Status::Ok();
  };
  CAIRN_RETURN_IF_ERROR(check(kChildChannelReadFd, O_RDONLY));
  CAIRN_RETURN_IF_ERROR(check(kChildChannelWriteFd, O_WRONLY));
  return Channel(kChildChannelReadFd, kChildChannelWriteFd, message_bytes_max);
}

}  // namespace cairn::sandbox
