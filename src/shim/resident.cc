#include "shim/resident.h"

#include <malloc.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "sys/file.h"

namespace berth::shim {

namespace {

// A system call without libc's wrapper (see WaitEvents). Returns -errno on failure.
[[gnu::always_inline]] inline long RawSyscall6(long nr, long a, long b, long c, long d, long e,
                                               long f) {
#if defined(__x86_64__)
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 asm("x8") = nr;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  register long x4 asm("x4") = e;
  register long x5 asm("x5") = f;
  asm volatile("svc 0"
               : "+r"(x0)
               : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
               : "memory");
  return x0;
#else
  long ret = ::syscall(nr, a, b, c, d, e, f);
  return ret < 0 ? -errno : ret;
#endif
}

struct Range {
  uintptr_t start = 0, end = 0;
};

// Setup maps few file ranges (the binary's segments, maybe a locale file): more are ignored.
constexpr size_t kMaxRanges = 16;
// Stack the loop and its callees may still use below TrimResidentPages' frame.
constexpr uintptr_t kStackMargin = 16 << 10;

uintptr_t PageDown(uintptr_t a) { return a & ~uintptr_t(::getpagesize() - 1); }

struct Plan {
  std::array<Range, kMaxRanges> files;
  size_t nfiles = 0;
  Range stack;
};

// Reads /proc/self/smaps for the ranges to give back. Only read-only, private file mappings
// without a single copy-on-write page qualify: RELRO sections are read-only too, but hold
// relocated pointers that MADV_DONTNEED would revert to the file's contents.
Plan MakePlan() {
  Plan plan;
  auto smaps = sys::ReadFile("/proc/self/smaps");
  if (!smaps) return plan;
  std::string_view text = *smaps;
  Range cur;
  bool candidate = false;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.starts_with("Anonymous:")) {
      std::string_view v = line.substr(10);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (candidate && v.starts_with("0 ") && plan.nfiles < kMaxRanges)
        plan.files[plan.nfiles++] = cur;
      candidate = false;
      continue;
    }
    // A mapping line: "start-end perms offset dev inode [path]"; field lines start with a
    // capitalised name and a colon.
    size_t dash = line.find('-');
    size_t sp = line.find(' ');
    if (dash == std::string_view::npos || sp == std::string_view::npos || dash > sp) continue;
    if (line.substr(0, sp).back() == ':') continue;
    cur.start = std::stoull(std::string(line.substr(0, dash)), nullptr, 16);
    cur.end = std::stoull(std::string(line.substr(dash + 1, sp - dash - 1)), nullptr, 16);
    std::string_view perms = line.substr(sp + 1, 4);
    size_t path = line.find(" /");
    candidate =
        path != std::string_view::npos && perms.size() == 4 && perms[1] != 'w' && perms[3] == 'p';
    if (line.ends_with("[stack]")) plan.stack = cur;
  }
  return plan;
}

}  // namespace

[[gnu::hot, gnu::noinline]] void TrimResidentPages() {
  Plan plan = MakePlan();  // its heap is freed before the trim
  ::malloc_trim(0);
  // Below this frame the stack holds nothing live; a margin stays for the loop's callees.
  auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (plan.stack.start != 0 && frame > plan.stack.start + kStackMargin) {
    uintptr_t end = PageDown(frame - kStackMargin);
    RawSyscall6(SYS_madvise, long(plan.stack.start), long(end - plan.stack.start), MADV_DONTNEED, 0,
                0, 0);
  }
  // Last, and with no libc call after it: each function run from here on faults its text back.
  for (size_t i = 0; i < plan.nfiles; ++i) {
    const Range& r = plan.files[i];
    RawSyscall6(SYS_madvise, long(r.start), long(r.end - r.start), MADV_DONTNEED, 0, 0, 0);
  }
}

[[gnu::hot]] int WaitEvents(int epoll_fd, struct epoll_event* events, int max_events,
                            int timeout_ms) {
  // epoll_pwait with no mask is epoll_wait, and is the one every architecture has.
  return static_cast<int>(
      RawSyscall6(SYS_epoll_pwait, epoll_fd, long(events), max_events, timeout_ms, 0, 0));
}

}  // namespace berth::shim
