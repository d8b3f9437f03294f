#include "sandbox/seccomp.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace cairn::sandbox {
namespace {

// The socket type lives in the low bits of socket()'s second argument; the
// rest are SOCK_CLOEXEC / SOCK_NONBLOCK.
constexpr uint64_t kSocketTypeMask = 0xf;

scmp_arg_cmp Arg(unsigned index, scmp_compare op, uint64_t a, uint64_t b = 0) {
  return scmp_arg_cmp{.arg = index, .op = op, .datum_a = a, .datum_b = b};
}

// A libseccomp filter under construction: default allow, refusals added one
// by one, loaded once. Owns the libseccomp context. Not thread-safe.
class Filter {
 public:
  Filter() = default;
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  ~Filter() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }

  Status Init() {
    ctx_ = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx_ == nullptr) return Internal("sandbox: seccomp_init failed");
    // Every thread, including those libtorch or OpenMP started earlier, gets
    // the filter; without TSYNC only the calling thread would.
    CAIRN_RETURN_IF_ERROR(Attr(SCMP_FLTATR_CTL_TSYNC, 1, "TSYNC"));
    // A foreign-ABI system call (int 0x80, x32) is never legitimate here; kill
    // the whole process, not just the thread (libseccomp's default).
    CAIRN_RETURN_IF_ERROR(Attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "ACT_BADARCH"));
    return Status::Ok();
  }

  // Refuses `name` with `error` when every comparison in `args` holds (all
  // calls if `args` is empty). Several refusals of one call are alternatives.
  // Skips calls this architecture does not have.
  Status Refuse(const char* name, int error, std::initializer_list<scmp_arg_cmp> args = {}) {
    // Resolved by name through libseccomp's own table, which knows calls newer
    // than the kernel headers the build saw (SCMP_SYS would not) and gives a
    // negative pseudo-number for calls missing on this architecture.
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0) return Status::Ok();
    std::vector<scmp_arg_cmp> array(args);
    int rc = seccomp_rule_add_array(ctx_, SCMP_ACT_ERRNO(static_cast<uint16_t>(error)), nr,
                                    static_cast<unsigned>(array.size()), array.data());
    if (rc != 0) {
      return Internal(std::string("sandbox: cannot add a seccomp rule for ") + name + ": " + std::strerror(-rc));
    }
    return Status::Ok();
  }

  Status Load() {
    int rc = seccomp_load(ctx_);
    if (rc != 0) {
      return FailedPrecondition(std::string("sandbox: the kernel refused the seccomp filter: ") + std::strerror(-rc));
    }
    return Status::Ok();
  }

 private:
  Status Attr(scmp_filter_attr attr, uint32_t value, const char* name) {
    int rc = seccomp_attr_set(ctx_, attr, value);
    if (rc != 0) return Internal(std::string("sandbox: seccomp attribute ") + name + ": " + std::strerror(-rc));
    return Status::Ok();
  }

  scmp_filter_ctx ctx_ = nullptr;
};

Status RefuseAll(Filter* filter, int error, std::initializer_list<const char*> names) {
  for (const char* name : names) CAIRN_RETURN_IF_ERROR(filter->Refuse(name, error));
  return Status::Ok();
}

}  // namespace

Status RestrictProcess() {
  Filter filter;
  CAIRN_RETURN_IF_ERROR(filter.Init());

  // Network: only AF_UNIX stream sockets can be created, and none can be
  // connected or bound, so the host's Unix sockets (a container runtime's,
  // D-Bus, X11, abstract names) stay out of reach. socketpair is unaffected.
  CAIRN_RETURN_IF_ERROR(filter.Refuse("socket", EPERM, {Arg(0, SCMP_CMP_NE, AF_UNIX)}));
  // AF_UNIX datagrams could be sent to a host socket by path without
  // connect() (SOCK_RAW is a datagram socket for AF_UNIX).
  CAIRN_RETURN_IF_ERROR(filter.Refuse("socket", EPERM, {Arg(1, SCMP_CMP_MASKED_EQ, kSocketTypeMask, SOCK_DGRAM)}));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("socket", EPERM, {Arg(1, SCMP_CMP_MASKED_EQ, kSocketTypeMask, SOCK_RAW)}));
  CAIRN_RETURN_IF_ERROR(RefuseAll(&filter, EPERM, {"connect", "bind", "listen"}));

  // Processes: threads only. clone's flags are argument 0 on x86-64 and
  // aarch64 alike.
  CAIRN_RETURN_IF_ERROR(RefuseAll(&filter, EPERM, {"fork", "vfork", "execve", "execveat"}));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("clone", EPERM, {Arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)}));
  // clone3 passes its flags in memory, which seccomp cannot inspect. ENOSYS
  // makes glibc (2.34+) retry pthread_create with clone.
  CAIRN_RETURN_IF_ERROR(filter.Refuse("clone3", ENOSYS));

  // Other processes: no signals (kill(-1, ...) would reach the node), no
  // tracing, no reading or writing their memory.
  const uint64_t self = static_cast<uint64_t>(::getpid());
  CAIRN_RETURN_IF_ERROR(filter.Refuse("kill", EPERM, {Arg(0, SCMP_CMP_NE, self)}));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("tgkill", EPERM, {Arg(0, SCMP_CMP_NE, self)}));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("rt_sigqueueinfo", EPERM, {Arg(0, SCMP_CMP_NE, self)}));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("rt_tgsigqueueinfo", EPERM, {Arg(0, SCMP_CMP_NE, self)}));
  // tkill names a thread id alone, which could be anyone's; glibc uses tgkill.
  CAIRN_RETURN_IF_ERROR(RefuseAll(&filter, EPERM,
                                  {"tkill", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open",
                                   "pidfd_getfd", "pidfd_send_signal", "kcmp"}));

  // Limits stay as the parent set them (a root worker could raise them).
  // prlimit64 with a NULL new limit is getrlimit, which pthread_create uses.
  CAIRN_RETURN_IF_ERROR(filter.Refuse("setrlimit", EPERM));
  CAIRN_RETURN_IF_ERROR(filter.Refuse("prlimit64", EPERM, {Arg(2, SCMP_CMP_NE, 0)}));

  // Kernel attack surface and privileged operations no training step needs.
  CAIRN_RETURN_IF_ERROR(RefuseAll(
      &filter, EPERM,
      {"unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
       "fsconfig", "fsmount", "fspick", "mount_setattr", "io_uring_setup", "io_uring_enter", "io_uring_register",
       "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "init_module", "finit_module",
       "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl",
       "quotactl_fd", "iopl", "ioperm"}));

  CAIRN_RETURN_IF_ERROR(filter.Load());
  // Peers of the same user can no longer attach to or read the worker.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Internal(std::string("sandbox: prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status ForbidOpeningFiles() {
  Filter filter;
  CAIRN_RETURN_IF_ERROR(filter.Init());
  // EACCES, not a kill: libraries probe /proc and /sys lazily and must get an
  // ordinary "permission denied" they already handle.
  CAIRN_RETURN_IF_ERROR(RefuseAll(
      &filter, EACCES,
      {"open",        "openat",       "openat2",     "creat",     "open_by_handle_at", "name_to_handle_at",
       "mknod",       "mknodat",      "link",        "linkat",    "symlink",           "symlinkat",
       "rename",      "renameat",     "renameat2",   "unlink",    "unlinkat",          "mkdir",
       "mkdirat",     "rmdir",        "truncate",    "chdir",     "fchdir",            "chmod",
       "fchmod",      "fchmodat",     "fchmodat2",   "chown",     "fchown",            "lchown",
       "fchownat",    "utime",        "utimes",      "utimensat", "futimesat",         "setxattr",
       "lsetxattr",   "fsetxattr",    "removexattr", "lremovexattr", "fremovexattr",   "uselib"}));
  return filter.Load();
}

}  // namespace cairn::sandbox
