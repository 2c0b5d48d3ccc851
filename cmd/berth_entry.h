// The berth CLI's start-up before the C library (berth_entry.cc): the ranges of its own image
// that it maps in one system call each instead of one page fault at a time. Plain C and
// freestanding, so that it can run from the ELF entry point.
#pragma once

#include <elf.h>

extern "C" {

// How a range is mapped ahead: read (text, read-only data: the kernel maps the cached pages
// around each one, as a fault would) or write (data and bss: private copies made at once).
enum BerthPrefaultKind { kBerthPrefaultRead = 0, kBerthPrefaultWrite = 1 };

struct BerthPrefaultRange {
  unsigned long start, end;  // page-aligned, start < end
  int kind;                  // BerthPrefaultKind
};

// The ranges to map for an image whose program headers are `ph[0..n)`, loaded `bias` above
// their addresses (0 for a plain static executable). `hot_text_end`, when inside the executable
// segment, ends its range there: the link lays the functions the common commands run first
// (cmd/berth.order), so the rest of the text is left to fault in as used. The unwind tables,
// only read when an exception is thrown, are left out. Writes at most `max` ranges to `out` and
// returns how many.
int BerthCliPrefaultRanges(const Elf64_Phdr* ph, int n, unsigned long bias,
                           unsigned long hot_text_end, BerthPrefaultRange* out, int max);
}
