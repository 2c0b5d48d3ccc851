// The ranges the berth CLI's entry point maps ahead (berth_entry.h), from program headers laid
// out as lld links the static CLI, as a static PIE loads, and as GNU ld joins relro and data.
#include "berth_entry.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

Elf64_Phdr Load(unsigned long vaddr, unsigned long memsz, unsigned flags, unsigned long offset) {
  Elf64_Phdr p{};
  p.p_type = PT_LOAD;
  p.p_vaddr = vaddr;
  p.p_memsz = memsz;
  p.p_filesz = memsz;
  p.p_flags = flags;
  p.p_offset = offset;
  return p;
}

Elf64_Phdr Other(unsigned type, unsigned long vaddr, unsigned long memsz) {
  Elf64_Phdr p{};
  p.p_type = type;
  p.p_vaddr = vaddr;
  p.p_memsz = memsz;
  return p;
}

struct Range {
  unsigned long start, end;
  int kind;
  bool operator==(const Range& o) const {
    return start == o.start && end == o.end && kind == o.kind;
  }
};

std::ostream& operator<<(std::ostream& os, const Range& r) {
  return os << std::hex << "[0x" << r.start << ", 0x" << r.end << ") "
            << (r.kind == kBerthPrefaultWrite ? "write" : "read");
}

std::vector<Range> Ranges(const std::vector<Elf64_Phdr>& ph, unsigned long bias,
                          unsigned long hot_end, int max = 16) {
  std::vector<BerthPrefaultRange> out(16);
  int n = BerthCliPrefaultRanges(ph.data(), static_cast<int>(ph.size()), bias, hot_end, out.data(),
                                 max);
  std::vector<Range> r;
  for (int i = 0; i < n; ++i) r.push_back({out[i].start, out[i].end, out[i].kind});
  return r;
}

constexpr int R = kBerthPrefaultRead, W = kBerthPrefaultWrite;

// The static CLI as lld lays it out: read-only data with the unwind tables at its end, text,
// relro (ending with the GOT), data and bss.
std::vector<Elf64_Phdr> LldStatic() {
  return {Other(PT_PHDR, 0x200040, 0x230),
          Load(0x200000, 0x1ad254, PF_R, 0),
          Load(0x3af000, 0x58bd30, PF_R | PF_X, 0x1ae000),
          Load(0x93bd30, 0x695c8, PF_R | PF_W, 0x739d30),
          [] {
            Elf64_Phdr p = Load(0x9a6300, 0x1a7b8, PF_R | PF_W, 0x7a3300);
            p.p_filesz = 0x8568;  // the rest is bss
            return p;
          }(),
          Other(PT_TLS, 0x93bd30, 0xe0),
          Other(PT_GNU_RELRO, 0x93bd30, 0x6a2d0),
          Other(PT_GNU_EH_FRAME, 0x2af964, 0x2569c),
          Other(PT_GNU_STACK, 0, 0)};
}

TEST(BerthEntryTest, MapsHotTextDataAndTheRelroTailForWriting) {
  EXPECT_EQ(Ranges(LldStatic(), 0, 0x4afed0),
            (std::vector<Range>{{0x200000, 0x2af000, R},  // up to the unwind tables
                                {0x3af000, 0x4b0000, R},  // up to the hot text's end
                                {0x93b000, 0x9a2000, R},
                                {0x9a2000, 0x9a6000, W},  // written before it is protected
                                {0x9a6000, 0x9c1000, W}}));
}

TEST(BerthEntryTest, WithoutAnOrderedLinkMapsTheWholeText) {
  auto r = Ranges(LldStatic(), 0, 0);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[1], (Range{0x3af000, 0x93b000, R}));
  // A marker outside the text (not laid out by the order) is ignored the same way.
  EXPECT_EQ(Ranges(LldStatic(), 0, 0x9a7000)[1], (Range{0x3af000, 0x93b000, R}));
}

TEST(BerthEntryTest, AddsTheLoadBiasOfAPositionIndependentImage) {
  std::vector<Elf64_Phdr> ph = LldStatic();
  for (auto& p : ph) {
    if (p.p_type == PT_LOAD || p.p_type == PT_GNU_RELRO || p.p_type == PT_GNU_EH_FRAME)
      p.p_vaddr -= 0x200000;
  }
  constexpr unsigned long kBias = 0x7f0000000000;
  auto r = Ranges(ph, kBias, kBias + 0x2afed0);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], (Range{kBias, kBias + 0xaf000, R}));
  EXPECT_EQ(r[1], (Range{kBias + 0x1af000, kBias + 0x2b0000, R}));
  EXPECT_EQ(r[4], (Range{kBias + 0x7a6000, kBias + 0x7c1000, W}));
}

TEST(BerthEntryTest, SplitsAWritableSegmentThatHoldsRelroAndData) {
  // GNU ld: one RW segment, the relro its first part (protected up to its last whole page).
  std::vector<Elf64_Phdr> ph = {
      Load(0x400000, 0x1000, PF_R, 0), Load(0x401000, 0x5000, PF_R | PF_X, 0x1000),
      Load(0x4a0000, 0x30000, PF_R | PF_W, 0xa0000), Other(PT_GNU_RELRO, 0x4a0000, 0x10000)};
  EXPECT_EQ(Ranges(ph, 0, 0), (std::vector<Range>{{0x400000, 0x401000, R},
                                                  {0x401000, 0x406000, R},
                                                  {0x4a0000, 0x4ac000, R},
                                                  {0x4ac000, 0x4b0000, W},
                                                  {0x4b0000, 0x4d0000, W}}));
}

TEST(BerthEntryTest, ASmallRelroIsMappedForWritingWhole) {
  std::vector<Elf64_Phdr> ph = {Load(0x401000, 0x2000, PF_R | PF_W, 0),
                                Other(PT_GNU_RELRO, 0x401000, 0x2000)};
  EXPECT_EQ(Ranges(ph, 0, 0), (std::vector<Range>{{0x401000, 0x403000, W}}));
}

TEST(BerthEntryTest, WritesNoMoreThanItIsGiven) {
  EXPECT_EQ(Ranges(LldStatic(), 0, 0x4afed0, 2).size(), 2u);
  EXPECT_TRUE(Ranges({}, 0, 0).empty());
}

}  // namespace
