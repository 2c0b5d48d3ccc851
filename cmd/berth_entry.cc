// The berth CLI's ELF entry point on x86_64: its own image mapped ahead, before the C library
// initialises.
//
// The CLI is a fresh static executable per command, and on the reference VM (a PVM guest) a
// page fault costs ~25 us: `berth version` took ~59 faults, of which ~45 on the image itself
// (text, read-only data, the relro and data pages glibc's start-up and the static constructors
// touch). madvise(MADV_POPULATE_READ/WRITE) maps each range in one system call (the text's
// first MB ~60 us): 59 -> 20 faults and ~0.3 ms less wall time per command (bench/RESULTS.md,
// session 16). A kernel without MADV_POPULATE_* (before 5.14)
// answers EINVAL and the faults happen as before.
//
// Everything here runs before relocation, TLS and the stack protector exist: no libc calls, no
// globals through the GOT, no sanitizer instrumentation (CMakeLists.txt compiles this file
// freestanding, as runtime_entry.cc).
#include "berth_entry.h"

#include <sys/syscall.h>

namespace {

constexpr unsigned long kPage = 4096;
// MADV_POPULATE_READ / MADV_POPULATE_WRITE (Linux 5.14), spelled out for older headers.
constexpr long kPopulateRead = 22;
constexpr long kPopulateWrite = 23;
// The relro pages that are written before glibc makes them read-only: the GOT (IRELATIVE
// relocations) and glibc's own relro data (tunables, the static dl_find_object table), which the
// link places last. Mapped for writing so they are not mapped for reading first and then copied
// on a second fault; populating the whole relro for writing instead copies ~100 pages (slower).
constexpr unsigned long kRelroWrittenPages = 4;

unsigned long PageDown(unsigned long a) { return a & ~(kPage - 1); }
unsigned long PageUp(unsigned long a) { return (a + kPage - 1) & ~(kPage - 1); }
unsigned long Max(unsigned long a, unsigned long b) { return a > b ? a : b; }
unsigned long Min(unsigned long a, unsigned long b) { return a < b ? a : b; }

struct Out {
  BerthPrefaultRange* ranges;
  int max, n;
  void Add(unsigned long start, unsigned long end, int kind) {
    if (start >= end || n >= max) return;
    ranges[n++] = BerthPrefaultRange{start, end, kind};
  }
};

}  // namespace

extern "C" int BerthCliPrefaultRanges(const Elf64_Phdr* ph, int n, unsigned long bias,
                                      unsigned long hot_text_end, BerthPrefaultRange* ranges,
                                      int max) {
  unsigned long relro_start = 0, relro_end = 0, unwind = 0;
  for (int i = 0; i < n; ++i) {
    if (ph[i].p_type == PT_GNU_RELRO) {
      // glibc protects whole pages: from the first page to the last one the relro fills.
      relro_start = PageDown(ph[i].p_vaddr + bias);
      relro_end = PageDown(ph[i].p_vaddr + bias + ph[i].p_memsz);
    } else if (ph[i].p_type == PT_GNU_EH_FRAME) {
      unwind = ph[i].p_vaddr + bias;
    }
  }
  Out out{ranges, max, 0};
  for (int i = 0; i < n; ++i) {
    if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0) continue;
    unsigned long start = PageDown(ph[i].p_vaddr + bias);
    unsigned long end = PageUp(ph[i].p_vaddr + bias + ph[i].p_memsz);
    if ((ph[i].p_flags & PF_X) != 0) {
      if (hot_text_end > start && hot_text_end < end) end = PageUp(hot_text_end);
      out.Add(start, end, kBerthPrefaultRead);
    } else if ((ph[i].p_flags & PF_W) == 0) {
      if (unwind > start && unwind < end) end = PageDown(unwind);
      out.Add(start, end, kBerthPrefaultRead);
    } else {
      unsigned long rs = Max(start, relro_start), re = Min(end, relro_end);
      if (rs >= re) {
        out.Add(start, end, kBerthPrefaultWrite);
        continue;
      }
      unsigned long written =
          re - rs > kRelroWrittenPages * kPage ? re - kRelroWrittenPages * kPage : rs;
      out.Add(start, rs, kBerthPrefaultWrite);
      out.Add(rs, written, kBerthPrefaultRead);
      out.Add(written, re, kBerthPrefaultWrite);
      out.Add(re, end, kBerthPrefaultWrite);
    }
  }
  return out.n;
}

#if defined(__x86_64__)
namespace {

long Sys(long nr, long a, long b, long c) {
  long ret;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

}  // namespace

// Linker-defined: the image's ELF header, and so its program headers.
extern "C" const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));

// Laid out last of the ordered functions (cmd/berth.order): where the hot text ends.
extern "C" __attribute__((noinline, used)) void berth_cli_hot_end() { asm volatile(""); }

namespace {

// The break the kernel gave the process: where the heap starts (0 until the entry ran).
unsigned long initial_break = 0;

// After glibc's start-up (its first malloc grew the heap by ~132 KB), before the static
// constructors and main: that heap mapped for writing in one call. A `run` touched all of it
// (CLI11's options), one fault per page: 15 faults. Anonymous faults are cheaper than those on
// the text: `version` measured -0.09 ms with this (bench/RESULTS.md, session 16).
__attribute__((constructor(101))) void PrefaultHeap() {
  if (initial_break == 0) return;
  unsigned long end = PageDown(static_cast<unsigned long>(Sys(SYS_brk, 0, 0, 0)));
  unsigned long start = PageDown(initial_break);
  if (end > start)
    Sys(SYS_madvise, static_cast<long>(start), static_cast<long>(end - start), kPopulateWrite);
}

}  // namespace

extern "C" void BerthCliPrefault() {
  initial_break = static_cast<unsigned long>(Sys(SYS_brk, 0, 0, 0));
  const char* image = reinterpret_cast<const char*>(&__ehdr_start);
  const auto* ph = reinterpret_cast<const Elf64_Phdr*>(image + __ehdr_start.e_phoff);
  int n = __ehdr_start.e_phnum;
  // The load bias: where the program headers are against where they say they are.
  unsigned long bias = 0;
  for (int i = 0; i < n; ++i)
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
      bias = reinterpret_cast<unsigned long>(image) - ph[i].p_vaddr;
#if defined(BERTH_CLI_ORDERED)
  unsigned long hot_end = reinterpret_cast<unsigned long>(&berth_cli_hot_end) + 16;
#else
  unsigned long hot_end = 0;
#endif
  BerthPrefaultRange ranges[16];
  int count = BerthCliPrefaultRanges(ph, n, bias, hot_end, ranges, 16);
  for (int i = 0; i < count; ++i)
    Sys(SYS_madvise, static_cast<long>(ranges[i].start),
        static_cast<long>(ranges[i].end - ranges[i].start),
        ranges[i].kind == kBerthPrefaultWrite ? kPopulateWrite : kPopulateRead);
}

// The kernel enters with %rsp at argc and %rdx holding a function for atexit (the dynamic
// loader's; 0 for a static program); glibc's _start needs both as they were.
asm(R"(
  .section .text.berth_cli_entry,"ax",@progbits
  .globl berth_cli_entry
  .type berth_cli_entry, @function
berth_cli_entry:
  xor %ebp, %ebp
  mov %rdx, %r12
  mov %rsp, %r13
  and $-16, %rsp
  call BerthCliPrefault
  mov %r13, %rsp
  mov %r12, %rdx
  jmp _start
  .size berth_cli_entry, .-berth_cli_entry
  .text
)");
#endif
