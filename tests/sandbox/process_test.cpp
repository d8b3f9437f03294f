// Child (sandbox/process.h): spawning, limits, the exit report, the output
// tail, process groups and cleanup, and the channel to a real child.

#include "sandbox/process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>

#include "sandbox/probe.h"
#include "support/temp_dir.h"

namespace cairn::sandbox {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::OutcomeOf;
using testing::ProbeOptions;
using testing::RunProbe;

ExitInfo MustRun(const SpawnOptions& options) {
  auto info = RunProbe(options);
  CAIRN_ASSERT(info.ok());
  return *info;
}

Child MustSpawn(const SpawnOptions& options) {
  auto child = Child::Spawn(options);
  CAIRN_ASSERT(child.ok());
  return std::move(child).value();
}

// "as=1/1 cpu=2/4 ..." as a map from name to "soft/hard".
std::map<std::string, std::string> ParseFields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  for (std::string field; in >> field;) {
    size_t equals = field.find('=');
    if (equals != std::string::npos) fields[field.substr(0, equals)] = field.substr(equals + 1);
  }
  return fields;
}

// ---- how a child ended

TEST(Child, ReportsTheExitCodeAndWhatItWrote) {
  ExitInfo info = MustRun(ProbeOptions("none", "exit", {"3"}));
  EXPECT_EQ(info.kind, ExitKind::kExited);
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_FALSE(info.ok());
  EXPECT_EQ(info.description, "exited with code 3");
  EXPECT_EQ(info.stderr_tail, "about to exit\n");
  EXPECT_EQ(info.ToString(), "exited with code 3; its last output:\nabout to exit");

  ExitInfo clean = MustRun(ProbeOptions("none", "exit", {"0"}));
  EXPECT_TRUE(clean.ok()) << clean.ToString();
}

TEST(Child, NamesTheCpuLimit) {
  SpawnOptions options = ProbeOptions("restrict", "spin");
  options.limits.cpu_seconds = 1;
  ExitInfo info = MustRun(options);
  EXPECT_EQ(info.kind, ExitKind::kCpuLimit) << info.ToString();
  EXPECT_EQ(info.signal, SIGXCPU);
  EXPECT_EQ(info.description, "exceeded its CPU time limit of 1 s");
  EXPECT_GT(info.cpu_seconds, 0.5);  // rusage may read a little under the limit the kernel enforced.
}

TEST(Child, NamesTheCpuLimitEvenWhenSigxcpuIsIgnored) {
  // The kernel's SIGKILL at the hard limit (soft + 2 s) is told apart from an
  // OOM kill by the CPU time used.
  SpawnOptions options = ProbeOptions("restrict", "spin-ignoring-sigxcpu");
  options.limits.cpu_seconds = 1;
  ExitInfo info = MustRun(options);
  EXPECT_EQ(info.kind, ExitKind::kCpuLimit) << info.ToString();
  EXPECT_EQ(info.signal, SIGKILL);
  EXPECT_EQ(info.description, "exceeded its CPU time limit of 1 s");
}

TEST(Child, KillsAtTheWallLimitAndSaysSo) {
  Child child = MustSpawn(ProbeOptions("restrict", "sleep"));
  auto info = child.Wait(/*wall_seconds=*/1);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->kind, ExitKind::kWallLimit);
  EXPECT_EQ(info->signal, SIGKILL);
  EXPECT_EQ(info->description, "did not finish within 1 s (killed)");
  // Waiting again gives the same answer.
  auto again = child.Wait();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->description, info->description);
}

TEST(Child, TheWallLimitOfSpawnOptionsCountsFromSpawn) {
  SpawnOptions options = ProbeOptions("restrict", "sleep");
  options.limits.wall_seconds = 1.5;
  ExitInfo info = MustRun(options);
  EXPECT_EQ(info.kind, ExitKind::kWallLimit);
  EXPECT_EQ(info.description, "did not finish within 1.5 s (killed)");
}

TEST(Child, NamesCrashes) {
  ExitInfo segv = MustRun(ProbeOptions("restrict", "segv"));
  EXPECT_EQ(segv.kind, ExitKind::kCrashed);
  EXPECT_EQ(segv.description, "crashed (SIGSEGV)");
  ExitInfo abort = MustRun(ProbeOptions("restrict", "abort"));
  EXPECT_EQ(abort.kind, ExitKind::kCrashed);
  EXPECT_EQ(abort.description, "crashed (SIGABRT)");
}

TEST(Child, RunningOutOfAddressSpaceIsACleanBadAlloc) {
  SpawnOptions limited = ProbeOptions("forbid-open", "alloc", {"2048"});
  limited.limits.address_space_bytes = uint64_t{512} << 20;
  EXPECT_THAT(OutcomeOf(MustRun(limited), "alloc"), StartsWith("bad_alloc after "));

  // The control: the same allocations without the limit (never touched, so
  // they cost address space only).
  SpawnOptions unlimited = ProbeOptions("forbid-open", "alloc", {"2048"});
  unlimited.limits.address_space_bytes = 0;
  EXPECT_EQ(OutcomeOf(MustRun(unlimited), "alloc"), "reached 2048 MiB");
}

TEST(Child, NamesTheFileSizeLimit) {
  cairn::testing::TempDir dir;
  SpawnOptions options = ProbeOptions("restrict", "write-big", {dir / "big", std::to_string(2 << 20)});
  options.limits.file_size_bytes = 1 << 20;
  ExitInfo info = MustRun(options);
  EXPECT_EQ(info.kind, ExitKind::kFileSizeLimit) << info.ToString();
  EXPECT_EQ(info.description, "exceeded its file size limit of 1048576 bytes");

  options.limits.file_size_bytes = 4 << 20;
  EXPECT_EQ(OutcomeOf(MustRun(options), "write-big"), "ok 2097152");
}

TEST(Child, SigkillFromElsewhereSuggestsOutOfMemory) {
  Child child = MustSpawn(ProbeOptions("restrict", "sleep"));
  ASSERT_EQ(::kill(child.pid(), SIGKILL), 0);
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, ExitKind::kKilled);
  EXPECT_EQ(info->description, "was killed (SIGKILL; out of memory?)");
}

TEST(Child, KillIsReportedAsRequested) {
  Child child = MustSpawn(ProbeOptions("restrict", "sleep"));
  child.Kill();
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, ExitKind::kKilledOnRequest);
  EXPECT_EQ(info->description, "was killed on request (SIGKILL)");
  child.Kill();  // After reaping: does nothing.
}

TEST(Child, NamesOtherSignals) {
  Child child = MustSpawn(ProbeOptions("restrict", "sleep"));
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->kind, ExitKind::kOtherSignal);
  EXPECT_EQ(info->description, "was killed by SIGTERM");
}

// ---- what the child starts with

TEST(Child, InstallsTheLimitsBeforeExec) {
  SpawnOptions options = ProbeOptions("none", "limits");
  options.limits.address_space_bytes = uint64_t{3} << 30;
  options.limits.cpu_seconds = 100;
  options.limits.file_size_bytes = 5 << 20;
  options.limits.open_files = 64;
  auto fields = ParseFields(OutcomeOf(MustRun(options), "limits"));
  EXPECT_EQ(fields["as"], "3221225472/3221225472");
  EXPECT_EQ(fields["cpu"], "100/102");
  EXPECT_EQ(fields["fsize"], "5242880/5242880");
  EXPECT_EQ(fields["nofile"], "64/64");
  EXPECT_EQ(fields["core"], "0/0");
  EXPECT_EQ(fields["nnp"], "1");
  EXPECT_EQ(fields["pdeathsig"], std::to_string(SIGKILL));
}

TEST(Child, ApplyLimitsLowersTheLimitsOfTheCallingProcess) {
  SpawnOptions options = ProbeOptions("none", "apply-limits", {std::to_string(uint64_t{2} << 30), "50", "1000", "32"});
  auto fields = ParseFields(OutcomeOf(MustRun(options), "apply-limits"));
  EXPECT_EQ(fields["as"], "2147483648/2147483648");
  EXPECT_EQ(fields["cpu"], "50/52");
  EXPECT_EQ(fields["fsize"], "1000/1000");
  EXPECT_EQ(fields["nofile"], "32/32");
  EXPECT_EQ(fields["core"], "0/0");
  EXPECT_EQ(fields["nnp"], "1");
}

TEST(Child, StartsWithOnlyTheDocumentedDescriptors) {
  // A descriptor leaked without close-on-exec must not reach the child.
  int leaked = ::open("/dev/zero", O_RDONLY);
  ASSERT_GE(leaked, 0);
  ExitInfo info = MustRun(ProbeOptions("none", "fds"));
  ::close(leaked);
  auto fds = ParseFields(OutcomeOf(info, "fds"));
  ASSERT_EQ(fds.size(), 5u) << OutcomeOf(info, "fds");
  EXPECT_EQ(fds["0"], "/dev/null");
  EXPECT_THAT(fds["1"], StartsWith("pipe:"));
  EXPECT_EQ(fds["1"], fds["2"]);  // stdout and stderr share the capture pipe.
  EXPECT_THAT(fds["3"], StartsWith("pipe:"));
  EXPECT_THAT(fds["4"], StartsWith("pipe:"));
  EXPECT_NE(fds["3"], fds["4"]);
  EXPECT_NE(fds["3"], fds["1"]);
}

TEST(Child, AppliesEnvironmentOverrides) {
  ASSERT_EQ(::setenv("CAIRN_PROBE_SECRET", "hunter2", 1), 0);
  EXPECT_EQ(testing::Probe("none", "env", {"CAIRN_PROBE_SECRET"}), "CAIRN_PROBE_SECRET=hunter2");

  SpawnOptions options = ProbeOptions("none", "env", {"CAIRN_PROBE_SECRET"});
  options.env_overrides = {"CAIRN_PROBE_SECRET"};
  EXPECT_EQ(OutcomeOf(MustRun(options), "env"), "CAIRN_PROBE_SECRET unset");

  options = ProbeOptions("none", "env", {"CAIRN_PROBE_SET"});
  options.env_overrides = {"CAIRN_PROBE_SET=first", "CAIRN_PROBE_SET=second"};
  EXPECT_EQ(OutcomeOf(MustRun(options), "env"), "CAIRN_PROBE_SET=second");
  ::unsetenv("CAIRN_PROBE_SECRET");
}

TEST(Child, LeadsAProcessGroupOfItsOwnUnlessToldNot) {
  EXPECT_EQ(testing::Probe("none", "pgid"), "leader");
  SpawnOptions options = ProbeOptions("none", "pgid");
  options.new_process_group = false;
  EXPECT_EQ(OutcomeOf(MustRun(options), "pgid"), "member");
}

TEST(Child, SpawnFailuresAreValues) {
  SpawnOptions missing;
  missing.argv = {"/nonexistent/cairn-worker"};
  auto child = Child::Spawn(missing);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().message(),
            "sandbox: cannot start /nonexistent/cairn-worker: execve: No such file or directory");

  EXPECT_EQ(Child::Spawn(SpawnOptions{}).status().code(), StatusCode::kInvalidArgument);
  SpawnOptions few_files = ProbeOptions("none", "exit", {"0"});
  few_files.limits.open_files = 3;
  EXPECT_EQ(Child::Spawn(few_files).status().code(), StatusCode::kInvalidArgument);
  SpawnOptions bad_env = ProbeOptions("none", "exit", {"0"});
  bad_env.env_overrides = {"=value"};
  EXPECT_EQ(Child::Spawn(bad_env).status().code(), StatusCode::kInvalidArgument);
}

// ---- output capture

TEST(Child, KeepsTheLastBytesOfALargeOutputWithoutBlockingTheChild) {
  // 1 MiB is sixteen times the pipe's capacity: without a reader the child
  // would block forever.
  ExitInfo info = MustRun(ProbeOptions("forbid-open", "stderr-flood", {std::to_string(1 << 20)}));
  EXPECT_TRUE(info.ok()) << info.description;
  EXPECT_EQ(info.stderr_tail.size(), kStderrTailBytesMax);
  EXPECT_THAT(info.stderr_tail, EndsWith("END\n"));
  const std::string text = info.ToString();
  EXPECT_THAT(text, StartsWith("exited with code 0; its last output (truncated):\nline "));
  EXPECT_THAT(text, EndsWith("\nEND"));
  EXPECT_LE(text.size(), kStderrQuoteBytesMax + 100);
}

// ---- no child left behind

pid_t GrandchildPid(const std::string& tail) {
  ExitInfo info;
  info.stderr_tail = tail;
  std::string outcome = OutcomeOf(info, "grandchild");  // "ok <pid>"
  return outcome.rfind("ok ", 0) == 0 ? static_cast<pid_t>(std::stol(outcome.substr(3))) : -1;
}

TEST(Child, TheWallLimitKillsTheWholeGroup) {
  ExitInfo info = MustRun([] {
    SpawnOptions options = ProbeOptions("none", "grandchild-then-sleep");
    options.limits.wall_seconds = 2;
    return options;
  }());
  EXPECT_EQ(info.kind, ExitKind::kWallLimit);
  pid_t grandchild = GrandchildPid(info.stderr_tail);
  ASSERT_GT(grandchild, 0) << info.ToString();
  EXPECT_TRUE(testing::BecomesGone(grandchild));
}

TEST(Child, WhatTheChildLeavesInItsGroupDiesWithIt) {
  ExitInfo info = MustRun(ProbeOptions("none", "grandchild-then-exit"));
  EXPECT_TRUE(info.ok()) << info.ToString();
  pid_t grandchild = GrandchildPid(info.stderr_tail);
  ASSERT_GT(grandchild, 0) << info.ToString();
  EXPECT_TRUE(testing::BecomesGone(grandchild));
}

TEST(Child, TheDestructorKillsAndReaps) {
  pid_t pid;
  {
    Child child = MustSpawn(ProbeOptions("restrict", "sleep"));
    pid = child.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  // Reaped, not merely killed: no zombie is left either.
  const int rc = ::kill(pid, 0);
  const int error = errno;
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(error, ESRCH);
}

TEST(Child, MoveAssignmentCleansUpTheChildItReplaces) {
  Child first = MustSpawn(ProbeOptions("restrict", "sleep"));
  const pid_t first_pid = first.pid();
  first = MustSpawn(ProbeOptions("none", "exit", {"0"}));
  EXPECT_EQ(::kill(first_pid, 0), -1);
  auto info = first.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->ok());
}

TEST(Child, DiesWithItsParent) {
  // A go-between process spawns a sleeping child and exits without any
  // cleanup (as a crashing node would); the kernel's death signal must end
  // the child.
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    ::close(report[0]);
    auto child = Child::Spawn(ProbeOptions("restrict", "sleep"));
    pid_t pid = child.ok() ? child->pid() : -1;
    ssize_t ignored = ::write(report[1], &pid, sizeof(pid));
    (void)ignored;
    ::_exit(0);  // No destructors: only the death signal can stop the child.
  }
  ::close(report[1]);
  pid_t orphan = -1;
  ASSERT_EQ(::read(report[0], &orphan, sizeof(orphan)), static_cast<ssize_t>(sizeof(orphan)));
  ::close(report[0]);
  ::waitpid(middle, nullptr, 0);
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(testing::BecomesGone(orphan));
}

// ---- the channel to a real child

TEST(ChildChannel, EchoesEmptyOneByteAndSixteenMebibyteMessages) {
  Child child = MustSpawn(ProbeOptions("forbid-open", "echo"));
  Bytes large(16 << 20);
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<uint8_t>(i * 131 + (i >> 16));
  const std::vector<Message> messages = {{1, {}}, {2, {0x7f}}, {0xfffffffe, large}};
  for (const Message& message : messages) {
    ASSERT_TRUE(child.channel().Send(message, /*timeout_seconds=*/60).ok());
    auto echoed = child.channel().Receive(/*timeout_seconds=*/60);
    ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
    EXPECT_EQ(echoed->type, message.type);
    EXPECT_TRUE(echoed->payload == message.payload) << "payload of type " << message.type << " differs";
  }
  child.channel().CloseSend();
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->ok()) << info->ToString();
  EXPECT_EQ(OutcomeOf(*info, "echo"), "done 3");
}

TEST(ChildChannel, RefusesAnOversizedHeader) {
  Child child = MustSpawn(ProbeOptions("forbid-open", "oversized-header"));
  auto message = child.channel().Receive(/*timeout_seconds=*/60);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(message.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(message.status().message(), "channel: the peer announced a message of 1073741825 bytes, more than the "
                                        "limit of 1073741824 bytes");
}

TEST(ChildChannel, TheSenderRefusesAnOversizedMessageAndStaysUsable) {
  Child child = MustSpawn(ProbeOptions("forbid-open", "send-too-big"));
  auto message = child.channel().Receive(/*timeout_seconds=*/60);
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  EXPECT_EQ(message->type, 2u);
  EXPECT_EQ(message->payload, Bytes(1024, 0xcd));
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(OutcomeOf(*info, "send-too-big"),
              StartsWith("big=resource exhausted: channel: refusing to send a message of 1025 bytes, more than the "
                         "limit of 1024 bytes small=OK"));
  EXPECT_TRUE(IsPeerClosed(child.channel().Receive(/*timeout_seconds=*/60).status()));
}

TEST(ChildChannel, AChildClosingMidMessageIsPeerClosed) {
  Child child = MustSpawn(ProbeOptions("forbid-open", "close-mid-message"));
  auto message = child.channel().Receive(/*timeout_seconds=*/60);
  ASSERT_FALSE(message.ok());
  EXPECT_TRUE(IsPeerClosed(message.status())) << message.status().ToString();
  EXPECT_EQ(message.status().message(),
            "channel: the peer closed the channel in the middle of a message (after 22 of 112 bytes)");
}

TEST(ChildChannel, ADeadChildIsPeerClosedBothWays) {
  Child child = MustSpawn(ProbeOptions("forbid-open", "exit", {"0"}));
  auto info = child.Wait();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(IsPeerClosed(child.channel().Receive(/*timeout_seconds=*/60).status()));
  // Writing to the dead child's pipe must not kill us with SIGPIPE.
  Status sent = child.channel().Send(Message{1, Bytes(10, 1)}, /*timeout_seconds=*/60);
  EXPECT_TRUE(IsPeerClosed(sent)) << sent.ToString();
}

}  // namespace
}  // namespace cairn::sandbox
