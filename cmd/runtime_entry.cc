// berth-runtime's ELF entry point on x86_64: the re-exec through a read-only view of its own
// file (runtime/linux/exe_seal.h) before the C library initialises.
//
// create, run and exec re-execute once from a read-only bind mount of the binary unless it
// already lies on a read-only mount (CVE-2019-5736 class). Done from glibc's constructors, the
// first image paid the whole static start-up for nothing: on the reference VM that is ~0.7 ms
// for an empty static program (IRELATIVE relocations, TLS, tunables, CPU features: page faults
// that cost tens of microseconds each there), of the ~2 ms the re-exec costs. Here the kernel's
// entry jumps to EarlyReexec first, which uses raw system calls only; when it cannot re-exec (an
// older kernel, no CAP_SYS_ADMIN) it returns, glibc's _start runs as usual, and the constructor
// in runtime_cli.cc tries again and reports the error as before.
//
// Everything here runs before relocation, TLS and the stack protector exist: no libc calls (its
// string functions are IFUNCs, resolved later), no globals through the GOT (static-pie), no
// sanitizer instrumentation (CMakeLists.txt compiles this file freestanding).
#include "runtime_entry.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

namespace {

// ST_RDONLY of <sys/statvfs.h>: statfs(2) reports the mount flags in f_flags with these values.
constexpr long kStRdonly = 1;

bool Equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

// Whether a starts with the n characters of b and has no more.
bool EqualN(const char* a, unsigned long n, const char* b) {
  unsigned long i = 0;
  for (; i < n; ++i)
    if (a[i] != b[i] || b[i] == '\0') return false;
  return b[i] == '\0';
}

// No table of strings: an array of pointers needs relocations, which a static-pie has not
// applied yet when this runs; literals are addressed relative to the code.
bool TakesValue(const char* a, unsigned long n) {
  return EqualN(a, n, "--root") || EqualN(a, n, "--log") || EqualN(a, n, "--log-format") ||
         EqualN(a, n, "--rootless") || EqualN(a, n, "--criu");
}

#if defined(__x86_64__)
long Sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return ret;
}
#endif

}  // namespace

extern "C" const char* BerthRuntimeCommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (a[0] == '\0') return nullptr;
    if (a[0] != '-') return a;
    if (Equal(a, "--debug") || Equal(a, "--systemd-cgroup")) continue;
    unsigned long n = 0, eq = 0;
    for (; a[n] != '\0'; ++n)
      if (a[n] == '=' && eq == 0) eq = n;
    if (TakesValue(a, n)) {
      ++i;
      continue;
    }
    if (eq != 0 && TakesValue(a, eq)) continue;  // --root=DIR
    return nullptr;
  }
  return nullptr;
}

extern "C" bool BerthRuntimeCommandSeals(const char* word) {
  return word != nullptr && (Equal(word, "create") || Equal(word, "run") || Equal(word, "exec"));
}

#if defined(__x86_64__)
extern "C" void BerthRuntimeEarlyReexec(long* initial_sp) {
  int argc = static_cast<int>(initial_sp[0]);
  char** argv = reinterpret_cast<char**>(initial_sp + 1);
  char** envp = argv + argc + 1;
  if (!BerthRuntimeCommandSeals(BerthRuntimeCommandWord(argc, argv))) return;
  const char* exe = "/proc/self/exe";
  struct statfs st;
  if (Sys(SYS_statfs, reinterpret_cast<long>(exe), reinterpret_cast<long>(&st)) != 0) return;
  if ((st.f_flags & kStRdonly) != 0) return;  // already sealed, or installed read-only
  long tree = Sys(SYS_open_tree, AT_FDCWD, reinterpret_cast<long>(exe),
                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return;
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  // Above stdio, as sys::OpenReadOnlyView does: a caller may have closed 0-2.
  long view = -1;
  if (Sys(SYS_mount_setattr, tree, reinterpret_cast<long>(""), AT_EMPTY_PATH,
          reinterpret_cast<long>(&attr), sizeof attr) == 0)
    view = Sys(SYS_fcntl, tree, F_DUPFD_CLOEXEC, 3);
  Sys(SYS_close, tree);
  if (view < 0) return;
  Sys(SYS_execveat, view, reinterpret_cast<long>(""), reinterpret_cast<long>(argv),
      reinterpret_cast<long>(envp), AT_EMPTY_PATH);
  Sys(SYS_close, view);  // only reached when execveat failed
}

// The kernel enters with %rsp at argc and %rdx holding a function for atexit (the dynamic
// loader's; 0 for a static program); glibc's _start needs both as they were.
asm(R"(
  .text
  .globl berth_runtime_entry
  .type berth_runtime_entry, @function
berth_runtime_entry:
  xor %ebp, %ebp
  mov %rdx, %r12
  mov %rsp, %r13
  mov %rsp, %rdi
  and $-16, %rsp
  call BerthRuntimeEarlyReexec
  mov %r13, %rsp
  mov %r12, %rdx
  jmp _start
  .size berth_runtime_entry, .-berth_runtime_entry
)");
#endif
