// sandbox_probe: a stand-in for an untrusted worker, spawned by sandbox_test
// through Child::Spawn. It applies the lockdown named by argv[1], then tries
// the one action named by argv[2] and reports what happened on stderr (which
// the parent captures) as a line
//   RESULT <action> <outcome>
// where <outcome> is "ok ...", "errno EPERM", ... and exits 0. Exit 2: bad
// usage, or the lockdown itself failed. Some actions end the process on
// purpose (spin, segv, ...) and report nothing.
//
//   sandbox_probe {none|restrict|forbid-open} ACTION [ARGS...]
//     none         no filter (the control: shows the action works unfiltered)
//     restrict     RestrictProcess()
//     forbid-open  RestrictProcess() then ForbidOpeningFiles()

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/channel.h"
#include "sandbox/limits.h"
#include "sandbox/process.h"
#include "sandbox/seccomp.h"

extern char** environ;

namespace {

using cairn::sandbox::Channel;
using cairn::sandbox::Message;
using Args = std::vector<std::string>;

constexpr int kExitUsage = 2;

void Report(const std::string& action, const std::string& outcome) {
  std::fprintf(stderr, "RESULT %s %s\n", action.c_str(), outcome.c_str());
  std::fflush(stderr);
}

std::string ErrnoName(int error) {
  const char* name = ::strerrorname_np(error);
  return name != nullptr ? name : std::to_string(error);
}

// "ok" when rc >= 0, else "errno <NAME>" of the current errno.
std::string Outcome(long rc) { return rc >= 0 ? "ok" : "errno " + ErrnoName(errno); }

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "sandbox_probe: %s\n", why.c_str());
  std::exit(kExitUsage);
}

const std::string& Arg(const Args& args, size_t i) {
  if (i >= args.size()) Usage("missing argument");
  return args[i];
}

uint64_t NumberArg(const Args& args, size_t i) { return std::strtoull(Arg(args, i).c_str(), nullptr, 10); }

void WriteRaw(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::exit(3);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

std::string Limit(rlim_t value) { return value == RLIM_INFINITY ? "inf" : std::to_string(value); }

void PrintLimits(const std::string& action) {
  std::string out;
  const std::pair<const char*, int> resources[] = {
      {"as", RLIMIT_AS}, {"cpu", RLIMIT_CPU}, {"fsize", RLIMIT_FSIZE}, {"nofile", RLIMIT_NOFILE}, {"core", RLIMIT_CORE}};
  for (const auto& [name, resource] : resources) {
    struct rlimit value {};
    ::getrlimit(resource, &value);
    out += std::string(name) + "=" + Limit(value.rlim_cur) + "/" + Limit(value.rlim_max) + " ";
  }
  int death_signal = 0;
  ::prctl(PR_GET_PDEATHSIG, &death_signal, 0, 0, 0);
  out += "nnp=" + std::to_string(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) + " pdeathsig=" + std::to_string(death_signal);
  Report(action, out);
}

// Each action: its arguments after the action name.
std::map<std::string, std::function<void(const Args&)>> Actions() {
  std::map<std::string, std::function<void(const Args&)>> a;

  // ---- network
  a["tcp-socket"] = [](const Args&) { Report("tcp-socket", Outcome(::socket(AF_INET, SOCK_STREAM, 0))); };
  a["udp6-socket"] = [](const Args&) { Report("udp6-socket", Outcome(::socket(AF_INET6, SOCK_DGRAM, 0))); };
  a["unix-dgram"] = [](const Args&) { Report("unix-dgram", Outcome(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0))); };
  a["socketpair"] = [](const Args&) {
    int fds[2];
    Report("socketpair", Outcome(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds)));
  };
  a["connect"] = [](const Args& args) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return Report("connect", "socket " + Outcome(s));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(NumberArg(args, 0)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Report("connect", "connect " + Outcome(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))));
  };
  a["unix-connect"] = [](const Args& args) {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return Report("unix-connect", "socket " + Outcome(s));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", Arg(args, 0).c_str());
    Report("unix-connect", "connect " + Outcome(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))));
  };

  // ---- processes
  a["fork"] = [](const Args&) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    Report("fork", Outcome(pid));
  };
  a["execve"] = [](const Args&) {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, environ);  // Returns only on failure.
    Report("execve", Outcome(-1));
  };
  a["clone3"] = [](const Args&) {
    // Invalid arguments on purpose: a kernel that runs it says EINVAL, the
    // filter says ENOSYS.
    Report("clone3", Outcome(::syscall(SYS_clone3, nullptr, 0)));
  };
  a["threads"] = [](const Args& args) {
    const uint64_t count = NumberArg(args, 0);
    std::atomic<uint64_t> ran{0};
    try {
      std::vector<std::thread> threads;
      for (uint64_t i = 0; i < count; ++i) threads.emplace_back([&ran] { ran.fetch_add(1); });
      for (auto& t : threads) t.join();
      Report("threads", "ok " + std::to_string(ran.load()));
    } catch (const std::system_error& e) {
      Report("threads", std::string("failed: ") + e.what());
    }
  };
  a["kill-parent"] = [](const Args&) { Report("kill-parent", Outcome(::kill(::getppid(), 0))); };
  a["kill-all"] = [](const Args&) { Report("kill-all", Outcome(::kill(-1, 0))); };
  a["kill-self"] = [](const Args&) { Report("kill-self", Outcome(::kill(::getpid(), 0))); };
  a["peek-parent"] = [](const Args&) {
    char local[8];
    iovec here{local, sizeof(local)};
    iovec there{reinterpret_cast<void*>(0x1000), sizeof(local)};  // Unmapped: EFAULT if allowed.
    Report("peek-parent", Outcome(::process_vm_readv(::getppid(), &here, 1, &there, 1, 0)));
  };
  a["setrlimit"] = [](const Args&) {
    struct rlimit files {};
    ::getrlimit(RLIMIT_NOFILE, &files);
    Report("setrlimit", Outcome(::setrlimit(RLIMIT_NOFILE, &files)));
  };
  a["unshare"] = [](const Args&) { Report("unshare", Outcome(::unshare(CLONE_NEWUSER))); };
  a["io-uring"] = [](const Args&) {
    io_uring_params params{};
    Report("io-uring", Outcome(::syscall(SYS_io_uring_setup, 4, &params)));
  };

  // A system call through another ABI of the same CPU, which a filter for
  // the native ABI alone would not see. x86-64 only.
  a["x32-getpid"] = [](const Args&) {
#if defined(__x86_64__)
    constexpr long kX32SyscallBit = 0x40000000;
    constexpr long kX32Getpid = 39;
    Report("x32-getpid", Outcome(::syscall(kX32SyscallBit + kX32Getpid)));
#else
    Report("x32-getpid", "unsupported");
#endif
  };
  a["i386-getpid"] = [](const Args&) {
#if defined(__x86_64__)
    long rc = 20;  // getpid in the i386 table.
    __asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
    if (rc < 0) errno = static_cast<int>(-rc);
    Report("i386-getpid", Outcome(rc));
#else
    Report("i386-getpid", "unsupported");
#endif
  };

  // ---- files
  a["open"] = [](const Args& args) { Report("open", Outcome(::open(Arg(args, 0).c_str(), O_RDONLY | O_CLOEXEC))); };
  a["fs-writes"] = [](const Args& args) {
    // REQUIRES: DIR/existing exists.
    const std::string dir = Arg(args, 0);
    const std::string existing = dir + "/existing";
    std::string out;
    auto step = [&](const char* name, long rc) {
      out += std::string(name) + ":" + (rc >= 0 ? "ok" : ErrnoName(errno)) + " ";
    };
    step("creat", ::creat((dir + "/created").c_str(), 0600));
    step("mkdir", ::mkdir((dir + "/dir").c_str(), 0700));
    step("symlink", ::symlink("existing", (dir + "/symlink").c_str()));
    step("mkfifo", ::mkfifo((dir + "/fifo").c_str(), 0600));
    step("chmod", ::chmod(existing.c_str(), 0640));
    step("truncate", ::truncate(existing.c_str(), 0));
    step("link", ::link(existing.c_str(), (dir + "/link").c_str()));
    step("rename", ::rename((dir + "/link").c_str(), (dir + "/renamed").c_str()));
    step("unlink", ::unlink((dir + "/renamed").c_str()));
    step("chdir", ::chdir(dir.c_str()));
    Report("fs-writes", out);
  };
  a["memfd"] = [](const Args&) {
    int fd = ::memfd_create("probe", MFD_CLOEXEC);
    if (fd < 0) return Report("memfd", Outcome(fd));
    Report("memfd", Outcome(::write(fd, "abc", 3)));
  };
  a["write-big"] = [](const Args& args) {
    int fd = ::open(Arg(args, 0).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Report("write-big", "open " + Outcome(fd));
    const uint64_t total = NumberArg(args, 1);
    std::vector<char> chunk(64 * 1024, 'x');
    uint64_t written = 0;
    while (written < total) {
      ssize_t n = ::write(fd, chunk.data(), std::min<uint64_t>(chunk.size(), total - written));
      if (n < 0) return Report("write-big", "write " + Outcome(n));  // EFBIG if SIGXFSZ were ignored
      written += static_cast<uint64_t>(n);
    }
    Report("write-big", "ok " + std::to_string(written));
  };

  // ---- limits and endings
  a["alloc"] = [](const Args& args) {
    // Blocks are never touched: only address space is used, not memory.
    const uint64_t mib_max = NumberArg(args, 0);
    constexpr uint64_t kBlockMib = 64;
    std::vector<char*> blocks;
    uint64_t mib = 0;
    try {
      while (mib < mib_max) {
        blocks.push_back(new char[kBlockMib << 20]);
        mib += kBlockMib;
      }
      Report("alloc", "reached " + std::to_string(mib) + " MiB");
    } catch (const std::bad_alloc&) {
      Report("alloc", "bad_alloc after " + std::to_string(mib) + " MiB");
    }
    for (char* block : blocks) delete[] block;
  };
  a["spin"] = [](const Args&) {
    volatile uint64_t counter = 0;
    for (;;) counter = counter + 1;
  };
  a["spin-ignoring-sigxcpu"] = [](const Args&) {
    ::signal(SIGXCPU, SIG_IGN);
    volatile uint64_t counter = 0;
    for (;;) counter = counter + 1;
  };
  a["sleep"] = [](const Args&) {
    for (;;) ::pause();
  };
  a["segv"] = [](const Args&) {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
  };
  a["abort"] = [](const Args&) { std::abort(); };
  a["exit"] = [](const Args& args) {
    std::fprintf(stderr, "about to exit\n");
    std::exit(static_cast<int>(NumberArg(args, 0)));
  };
  a["stderr-flood"] = [](const Args& args) {
    const uint64_t total = NumberArg(args, 0);
    uint64_t written = 0;
    for (uint64_t line = 0; written < total; ++line) {
      char text[32];
      int n = std::snprintf(text, sizeof(text), "line %08llu\n", static_cast<unsigned long long>(line));
      WriteRaw(2, text, static_cast<size_t>(n));
      written += static_cast<uint64_t>(n);
    }
    WriteRaw(2, "END\n", 4);
  };
  a["limits"] = [](const Args&) { PrintLimits("limits"); };
  a["apply-limits"] = [](const Args& args) {
    cairn::sandbox::Limits limits;
    limits.address_space_bytes = NumberArg(args, 0);
    limits.cpu_seconds = NumberArg(args, 1);
    limits.file_size_bytes = NumberArg(args, 2);
    limits.open_files = NumberArg(args, 3);
    cairn::Status status = cairn::sandbox::ApplyLimits(limits);
    if (!status.ok()) return Report("apply-limits", "failed: " + status.ToString());
    PrintLimits("apply-limits");
  };
  a["fds"] = [](const Args&) {
    std::string out;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return Report("fds", "opendir " + Outcome(-1));
    const int own = ::dirfd(dir);
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
      char target[256] = {};
      std::string link = std::string("/proc/self/fd/") + entry->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      out += std::string(entry->d_name) + "=" + (n > 0 ? std::string(target, static_cast<size_t>(n)) : "?") + " ";
    }
    ::closedir(dir);
    Report("fds", out);
  };
  a["env"] = [](const Args& args) {
    const char* value = std::getenv(Arg(args, 0).c_str());
    Report("env", value == nullptr ? Arg(args, 0) + " unset" : Arg(args, 0) + "=" + value);
  };
  a["pgid"] = [](const Args&) { Report("pgid", ::getpgrp() == ::getpid() ? "leader" : "member"); };
  // A grandchild that sleeps forever; then the probe sleeps too or exits.
  auto grandchild = [](bool then_sleep) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
    Report("grandchild", Outcome(pid) + " " + std::to_string(pid));
    while (then_sleep) ::pause();
  };
  a["grandchild-then-sleep"] = [grandchild](const Args&) { grandchild(/*then_sleep=*/true); };
  a["grandchild-then-exit"] = [grandchild](const Args&) { grandchild(/*then_sleep=*/false); };

  // ---- the channel
  a["echo"] = [](const Args&) {
    auto channel = cairn::sandbox::ChannelToParent();
    if (!channel.ok()) return Report("echo", "failed: " + channel.status().ToString());
    uint64_t echoed = 0;
    for (;;) {
      auto message = channel->Receive(cairn::sandbox::kForever);
      if (!message.ok()) {
        if (cairn::sandbox::IsPeerClosed(message.status())) break;
        return Report("echo", "failed: " + message.status().ToString());
      }
      cairn::Status sent = channel->Send(*message);
      if (!sent.ok()) return Report("echo", "failed: " + sent.ToString());
      ++echoed;
    }
    Report("echo", "done " + std::to_string(echoed));
  };
  a["oversized-header"] = [](const Args&) {
    auto header = cairn::sandbox::EncodeMessageHeader(7, cairn::sandbox::kMessageBytesMax + 1);
    WriteRaw(cairn::sandbox::kChildChannelWriteFd, header.data(), header.size());
    Report("oversized-header", "written");
  };
  a["send-too-big"] = [](const Args&) {
    auto channel = cairn::sandbox::ChannelToParent(/*message_bytes_max=*/1024);
    if (!channel.ok()) return Report("send-too-big", "failed: " + channel.status().ToString());
    Message big{1, cairn::Bytes(1025, 0xab)};
    cairn::Status refused = channel->Send(big);
    Message small{2, cairn::Bytes(1024, 0xcd)};
    cairn::Status sent = channel->Send(small);
    Report("send-too-big", "big=" + refused.ToString() + " small=" + sent.ToString());
  };
  a["close-mid-message"] = [](const Args&) {
    auto header = cairn::sandbox::EncodeMessageHeader(5, 100);
    WriteRaw(cairn::sandbox::kChildChannelWriteFd, header.data(), header.size());
    WriteRaw(cairn::sandbox::kChildChannelWriteFd, "0123456789", 10);
    Report("close-mid-message", "written");
  };
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Usage("usage: sandbox_probe {none|restrict|forbid-open} ACTION [ARGS...]");
  const std::string lockdown = argv[1];
  const std::string action = argv[2];
  const Args args(argv + 3, argv + argc);
  auto actions = Actions();
  auto it = actions.find(action);
  if (it == actions.end() && action != "thread-before") Usage("unknown action " + action);
  if (lockdown != "none" && lockdown != "restrict" && lockdown != "forbid-open") Usage("unknown lockdown " + lockdown);

  // thread-before: a thread that exists before the lockdown must be under it
  // too (TSYNC). It waits for the go, then tries a TCP socket.
  std::atomic<bool> go{false};
  std::string early_thread_outcome;
  std::thread early_thread;
  if (action == "thread-before") {
    early_thread = std::thread([&] {
      while (!go.load()) std::this_thread::yield();
      early_thread_outcome = Outcome(::socket(AF_INET, SOCK_STREAM, 0));
    });
  }

  if (lockdown != "none") {
    cairn::Status status = cairn::sandbox::RestrictProcess();
    if (status.ok() && lockdown == "forbid-open") status = cairn::sandbox::ForbidOpeningFiles();
    if (!status.ok()) {
      std::fprintf(stderr, "sandbox_probe: lockdown failed: %s\n", status.ToString().c_str());
      return kExitUsage;
    }
  }

  if (action == "thread-before") {
    go.store(true);
    early_thread.join();
    Report("thread-before", early_thread_outcome);
    return 0;
  }
  it->second(args);
  return 0;
}
