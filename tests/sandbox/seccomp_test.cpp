// The two lockdown phases (sandbox/seccomp.h), observed from a spawned
// sandbox_probe. Each refusal is paired with a control run without the filter
// (lockdown "none"), which shows that the action works when not refused.

#include "sandbox/seccomp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "support/temp_dir.h"

namespace cairn::sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Probe;

// A listening TCP socket on 127.0.0.1, on a free port.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CAIRN_ASSERT(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CAIRN_ASSERT(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    CAIRN_ASSERT(::listen(fd_, 4) == 0);
    socklen_t size = sizeof(addr);
    CAIRN_ASSERT(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackListener() { ::close(fd_); }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A listening AF_UNIX socket at a path: a stand-in for a host service such as
// a container runtime's socket.
class UnixListener {
 public:
  explicit UnixListener(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CAIRN_ASSERT(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    CAIRN_ASSERT(path.size() < sizeof(addr.sun_path));
    path.copy(addr.sun_path, path.size());
    CAIRN_ASSERT(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    CAIRN_ASSERT(::listen(fd_, 4) == 0);
  }
  ~UnixListener() { ::close(fd_); }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(RestrictProcess, RefusesNetworkSockets) {
  EXPECT_EQ(Probe("none", "tcp-socket"), "ok");
  EXPECT_EQ(Probe("restrict", "tcp-socket"), "errno EPERM");
  EXPECT_EQ(Probe("none", "udp6-socket"), "ok");
  EXPECT_EQ(Probe("restrict", "udp6-socket"), "errno EPERM");
}

TEST(RestrictProcess, RefusesConnectingToLoopback) {
  LoopbackListener listener;
  EXPECT_EQ(Probe("none", "connect", {listener.port()}), "connect ok");
  EXPECT_EQ(Probe("restrict", "connect", {listener.port()}), "socket errno EPERM");
}

TEST(RestrictProcess, RefusesReachingHostUnixSockets) {
  cairn::testing::TempDir dir;
  UnixListener listener(dir / "service.sock");
  EXPECT_EQ(Probe("none", "unix-connect", {dir / "service.sock"}), "connect ok");
  // The socket itself may be created; it just cannot reach anything.
  EXPECT_EQ(Probe("restrict", "unix-connect", {dir / "service.sock"}), "connect errno EPERM");
  EXPECT_EQ(Probe("none", "unix-dgram"), "ok");
  EXPECT_EQ(Probe("restrict", "unix-dgram"), "errno EPERM");
}

TEST(RestrictProcess, AllowsSocketPairs) { EXPECT_EQ(Probe("forbid-open", "socketpair"), "ok"); }

TEST(RestrictProcess, RefusesFork) {
  EXPECT_EQ(Probe("none", "fork"), "ok");
  EXPECT_EQ(Probe("restrict", "fork"), "errno EPERM");
}

TEST(RestrictProcess, RefusesExecve) {
  // Unfiltered, the probe becomes /bin/true: exit 0 and no report at all.
  auto control = testing::RunProbe(testing::ProbeOptions("none", "execve"));
  ASSERT_TRUE(control.ok()) << control.status().ToString();
  EXPECT_TRUE(control->ok()) << control->ToString();
  EXPECT_THAT(control->stderr_tail, Not(HasSubstr("RESULT")));
  EXPECT_EQ(Probe("restrict", "execve"), "errno EPERM");
}

TEST(RestrictProcess, Clone3FailsWithEnosysSoGlibcFallsBack) {
  EXPECT_EQ(Probe("none", "clone3"), "errno EINVAL");  // The kernel has clone3 and looked at the arguments.
  EXPECT_EQ(Probe("restrict", "clone3"), "errno ENOSYS");
}

TEST(RestrictProcess, ThreadsStillWork) {
  EXPECT_EQ(Probe("restrict", "threads", {"4"}), "ok 4");
  EXPECT_EQ(Probe("forbid-open", "threads", {"4"}), "ok 4");
}

TEST(RestrictProcess, CoversThreadsStartedBeforeIt) {
  EXPECT_EQ(Probe("none", "thread-before"), "ok");
  EXPECT_EQ(Probe("restrict", "thread-before"), "errno EPERM");
}

TEST(RestrictProcess, RefusesSignalsToOtherProcesses) {
  EXPECT_EQ(Probe("none", "kill-parent"), "ok");
  EXPECT_EQ(Probe("restrict", "kill-parent"), "errno EPERM");
  EXPECT_EQ(Probe("restrict", "kill-all"), "errno EPERM");
  EXPECT_EQ(Probe("restrict", "kill-self"), "ok");
}

TEST(RestrictProcess, RefusesReadingOtherProcessesMemory) {
  // Unfiltered, the read is attempted: EFAULT at the unmapped address (or
  // EPERM where the kernel forbids it anyway, e.g. Yama or no root).
  EXPECT_THAT(Probe("none", "peek-parent"), HasSubstr("errno E"));
  EXPECT_EQ(Probe("restrict", "peek-parent"), "errno EPERM");
}

TEST(RestrictProcess, RefusesChangingLimits) {
  EXPECT_EQ(Probe("none", "setrlimit"), "ok");
  EXPECT_EQ(Probe("restrict", "setrlimit"), "errno EPERM");
}

TEST(RestrictProcess, RefusesNamespacesAndIoUring) {
  EXPECT_EQ(Probe("restrict", "unshare"), "errno EPERM");
  EXPECT_EQ(Probe("restrict", "io-uring"), "errno EPERM");
}

// The filter covers the native ABI; calls through another one (x32 numbers,
// i386 `int 0x80` on x86-64) end the process, reported as a sandbox violation.
void ExpectForeignAbiIsKilled(const std::string& action) {
  const std::string control = Probe("none", action);
  if (control == "unsupported") GTEST_SKIP() << "not an x86-64 build";
  auto info = testing::RunProbe(testing::ProbeOptions("restrict", action));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->kind, ExitKind::kSandboxViolation) << info->ToString() << " (unfiltered: " << control << ")";
  EXPECT_EQ(info->signal, SIGSYS);
  EXPECT_EQ(info->description, "was stopped by the sandbox (SIGSYS: a forbidden kind of system call)");
}

TEST(RestrictProcess, KillsX32SystemCalls) { ExpectForeignAbiIsKilled("x32-getpid"); }

TEST(RestrictProcess, KillsI386SystemCalls) {
  // Without IA-32 emulation in the kernel, int 0x80 is a plain SIGSEGV.
  auto control = testing::RunProbe(testing::ProbeOptions("none", "i386-getpid"));
  ASSERT_TRUE(control.ok());
  if (control->kind == ExitKind::kCrashed) GTEST_SKIP() << "this kernel has no IA-32 emulation";
  ExpectForeignAbiIsKilled("i386-getpid");
}

TEST(ForbidOpeningFiles, OpeningFailsWithEaccesOnlyAfterPhaseTwo) {
  cairn::testing::TempDir dir;
  const std::string input = dir.Write("input.bin", "data");
  EXPECT_EQ(Probe("restrict", "open", {input}), "ok");
  EXPECT_EQ(Probe("forbid-open", "open", {input}), "errno EACCES");
  EXPECT_EQ(Probe("restrict", "open", {"/proc/self/status"}), "ok");
  EXPECT_EQ(Probe("forbid-open", "open", {"/proc/self/status"}), "errno EACCES");
}

TEST(ForbidOpeningFiles, RefusesEveryChangeThroughAPath) {
  const std::string every_step = "creat:%s mkdir:%s symlink:%s mkfifo:%s chmod:%s truncate:%s link:%s rename:%s "
                                 "unlink:%s chdir:%s ";
  auto expected = [&](const char* outcome) {
    std::string text;
    for (size_t i = 0; i < every_step.size(); ++i) {
      if (every_step.compare(i, 2, "%s") == 0) {
        text += outcome;
        ++i;
      } else {
        text += every_step[i];
      }
    }
    return text;
  };
  {
    cairn::testing::TempDir dir;
    dir.Write("existing", "x");
    EXPECT_EQ(Probe("restrict", "fs-writes", {dir.path()}), expected("ok"));
  }
  {
    cairn::testing::TempDir dir;
    dir.Write("existing", "x");
    EXPECT_EQ(Probe("forbid-open", "fs-writes", {dir.path()}), expected("EACCES"));
  }
}

TEST(ForbidOpeningFiles, AllowsMemfd) { EXPECT_EQ(Probe("forbid-open", "memfd"), "ok"); }

}  // namespace
}  // namespace cairn::sandbox
