// The two-phase system-call lockdown of a sandboxed worker (docs/sandbox.md).
//
// Both phases install a seccomp filter (through libseccomp) that allows every
// system call except a denylist, which fails with an errno instead of killing
// the process, so that libraries see a clean error. Filters stack: once
// installed they hold for the rest of the process's life, in every thread
// (existing threads are synchronized with SECCOMP_FILTER_FLAG_TSYNC, new ones
// inherit), and can never be removed.
//
// Order in a worker:
//   1. (Child::Spawn has set the RLIMITs and no_new_privs before exec.)
//   2. RestrictProcess();      // still trusted code: read inputs, warm up
//   3. read every input file, start thread pools, run one warm-up step;
//   4. ForbidOpeningFiles();   // from here on no path can be opened
//   5. load and run the untrusted TorchScript.
#pragma once

#include "cairn/status.h"

namespace cairn::sandbox {

// Phase 1. Refuses with EPERM: network sockets (socket() for every domain but
// AF_UNIX, and AF_UNIX datagram sockets), connect/bind/listen (so no host
// socket can be reached by path or abstract name), new processes (fork,
// vfork, clone without CLONE_THREAD, execve, execveat), signals to other
// processes, ptrace and cross-process memory access, raising resource limits,
// namespaces, mounts, io_uring (it could open files and sockets behind
// seccomp's back), BPF, perf, userfaultfd, keyrings, kernel modules, and
// reboot-class calls. clone3 fails with ENOSYS so that glibc's pthread_create
// falls back to clone (with CLONE_THREAD, allowed): threads keep working.
// Also marks the process non-dumpable (no core, no ptrace attach by peers).
//
// Calls that do not exist on this architecture (fork on aarch64) are skipped.
// System calls of a foreign ABI (i386 `int 0x80`, x32 on x86-64) kill the
// process with SIGSYS.
Status RestrictProcess();

// Phase 2, after every input has been read. Refuses with EACCES every system
// call that opens or creates a path, or changes the file system through one:
// open, openat, openat2, creat, open_by_handle_at, name_to_handle_at, mknod*,
// link*, symlink*, rename*, unlink*, mkdir*, rmdir, truncate, chdir, fchdir,
// chmod/chown/utime/xattr families (the f* variants too, since the worker may
// still hold descriptors of its input files), uselib. memfd_create stays
// allowed: an anonymous memory file reaches nothing.
//
// REQUIRES: RestrictProcess() was called first (otherwise io_uring could still
// open files; the filter itself would load fine).
Status ForbidOpeningFiles();

}  // namespace cairn::sandbox
