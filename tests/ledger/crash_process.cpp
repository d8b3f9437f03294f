#include "crash_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace cairn::ledger::crash {
namespace {

// Forks and execs argv with stdout on a new pipe. Returns the pid and the
// read end of the pipe; aborts the test binary on failure to fork, which is
// not something a test can recover from.
std::pair<pid_t, int> Spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy.
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv) {
  auto [pid, fd] = Spawn(argv);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fd));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) Kill();
  ::close(fd_);
}

bool ChildProcess::ReadAvailable() {
  char buffer[4096];
  ssize_t n = ::read(fd_, buffer, sizeof(buffer));
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  partial_.append(buffer, static_cast<size_t>(n));
  size_t newline;
  while ((newline = partial_.find('\n')) != std::string::npos) {
    lines_.push_back(partial_.substr(0, newline));
    partial_.erase(0, newline + 1);
  }
  return true;
}

void ChildProcess::ReadToEnd() {
  while (ReadAvailable()) {
  }
}

bool ChildProcess::ReadUntil(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0 && !ReadAvailable()) return false;
  }
}

bool ChildProcess::ReadLines(size_t count, std::chrono::steady_clock::time_point deadline) {
  while (lines_.size() < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0 && !ReadAvailable()) return lines_.size() >= count;
  }
  return true;
}

void ChildProcess::Kill() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  exit_code_ = ExitCode(status);
  // Lines written before the kill are still in the pipe.
  ReadToEnd();
}

int ChildProcess::Wait() {
  if (reaped_) return exit_code_;
  ReadToEnd();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  exit_code_ = ExitCode(status);
  return exit_code_;
}

}  // namespace cairn::ledger::crash
