// Compression: detection, isa-l gzip and zstd round trips, interop with gzip(1) and zstd(1),
// multi-member gzip, byte-at-a-time sources, corrupt input, and the taps.
#include "archive/compression.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "archive/test_tar.h"
#include "sys/file.h"

namespace berth::archive {
namespace {

// Half random, half repetitive: exercises literals, matches and stored blocks.
std::string Payload(size_t size, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  while (out.size() < size) {
    if (rng() % 2) {
      for (int i = 0; i < 4096 && out.size() < size; ++i) out += static_cast<char>(rng());
    } else {
      out += "the quick brown fox jumps over the lazy dog " + std::to_string(rng() % 100) + "\n";
    }
  }
  out.resize(size);
  return out;
}

// Returns at most `chunk` bytes per Read, like a slow socket.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string_view data, size_t chunk) : data_(data), chunk_(chunk) {}
  base::Result<size_t> Read(void* buf, size_t size) override {
    size_t n = std::min({size, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t chunk_;
  size_t pos_ = 0;
};

base::Result<std::string> ReadAll(ByteSource& src, size_t chunk = 1 << 16) {
  std::string out;
  std::string buf(chunk, '\0');
  while (true) {
    size_t n = TRY(src.Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

std::string Compress(std::string_view data, Compression c, int level = -1) {
  StringSink sink;
  CompressingSink z(sink, c, level);
  // Uneven writes, to cross the internal buffers at odd places.
  size_t pos = 0, step = 1;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    EXPECT_TRUE(z.Write(data.data() + pos, n));
    pos += n;
    step = step * 3 + 7;
  }
  EXPECT_TRUE(z.Close());
  return sink.Take();
}

base::Result<std::string> Decompress(std::string_view data, std::optional<Compression> c,
                                     size_t trickle = 0) {
  MemorySource mem(data);
  TrickleSource slow(data, trickle);
  ByteSource& in = trickle ? static_cast<ByteSource&>(slow) : mem;
  if (c) {
    DecompressingSource d(in, *c);
    return ReadAll(d);
  }
  DecompressingSource d(in);
  return ReadAll(d);
}

// Runs a shell pipeline with `input` on a file and returns its stdout file's contents.
std::string Shell(const testing::Scratch& s, const std::string& input, const std::string& cmd) {
  std::string in = s.base() + "/in", out = s.base() + "/out";
  EXPECT_TRUE(sys::WriteFileReplace(in, input));
  std::string line = fmt::format("{} < {} > {}", cmd, in, out);
  EXPECT_EQ(std::system(line.c_str()), 0) << line;
  return sys::ReadFile(out).value_or("");
}

TEST(Compression, Detect) {
  auto detect = [](std::string_view s) {
    return DetectCompression({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(*detect("\x1f\x8b\x08\x00"), Compression::kGzip);
  EXPECT_EQ(*detect("\x28\xb5\x2f\xfd"), Compression::kZstd);
  EXPECT_EQ(*detect("\x5a\x2a\x4d\x18"), Compression::kZstd);  // skippable frame
  EXPECT_EQ(*detect("etc/passwd\0"), Compression::kNone);
  EXPECT_EQ(*detect(""), Compression::kNone);
  EXPECT_EQ(*detect("\x1f"), Compression::kNone);
  EXPECT_FALSE(detect("BZh91AY"));
  EXPECT_FALSE(
      detect(std::string_view("\xfd"
                              "7zXZ\0",
                              6)));
}

TEST(Compression, GzipRoundTripAllLevels) {
  std::string data = Payload(3 << 20);
  for (int level = 0; level <= 3; ++level) {
    std::string z = Compress(data, Compression::kGzip, level);
    // Level 0 (Huffman only) may expand the random half; the others must not.
    if (level > 0) {
      EXPECT_LT(z.size(), data.size()) << level;
    }
    EXPECT_EQ(*Decompress(z, Compression::kGzip), data) << level;
    EXPECT_EQ(*Decompress(z, std::nullopt), data) << level;
  }
  EXPECT_EQ(*Decompress(Compress("", Compression::kGzip), Compression::kGzip), "");
}

TEST(Compression, ZstdRoundTrip) {
  std::string data = Payload(3 << 20, 2);
  for (int level : {1, 3, 9}) {
    std::string z = Compress(data, Compression::kZstd, level);
    EXPECT_EQ(*Decompress(z, Compression::kZstd), data) << level;
    EXPECT_EQ(*Decompress(z, std::nullopt), data) << level;
  }
  EXPECT_EQ(*Decompress(Compress("", Compression::kZstd), Compression::kZstd), "");
}

TEST(Compression, InteropWithGzipAndZstdTools) {
  testing::Scratch s;
  std::string data = Payload(2 << 20, 3);
  EXPECT_EQ(Shell(s, Compress(data, Compression::kGzip), "gzip -dc"), data);
  EXPECT_EQ(Shell(s, Compress(data, Compression::kZstd), "zstd -dc"), data);
  EXPECT_EQ(*Decompress(Shell(s, data, "gzip -c -6"), std::nullopt), data);
  EXPECT_EQ(*Decompress(Shell(s, data, "gzip -c -1 -n"), Compression::kGzip), data);
  EXPECT_EQ(*Decompress(Shell(s, data, "zstd -c -q -5"), std::nullopt), data);
  // A gzip header with a file name, as `gzip file` writes.
  std::string named = s.base() + "/named";
  ASSERT_TRUE(sys::WriteFileReplace(named, data));
  ASSERT_EQ(std::system(("gzip -f " + named).c_str()), 0);
  EXPECT_EQ(*Decompress(*sys::ReadFile(named + ".gz"), std::nullopt), data);
}

TEST(Compression, MultiMemberGzipAndMultiFrameZstd) {
  testing::Scratch s;
  std::string a = Payload(700000, 4), b = Payload(300000, 5), c = "tail";
  std::string gz =
      Shell(s, a, "gzip -c") + Compress(b, Compression::kGzip) + Shell(s, c, "gzip -c");
  EXPECT_EQ(*Decompress(gz, Compression::kGzip), a + b + c);
  EXPECT_EQ(*Decompress(gz, Compression::kGzip, 1), a + b + c);
  EXPECT_EQ(Shell(s, gz, "gzip -dc"), a + b + c);
  std::string zs = Compress(a, Compression::kZstd) + Compress(b, Compression::kZstd);
  EXPECT_EQ(*Decompress(zs, Compression::kZstd), a + b);
}

TEST(Compression, ByteAtATimeSources) {
  std::string data = Payload(200000, 6);
  for (size_t chunk : {1, 3, 4096}) {
    EXPECT_EQ(*Decompress(Compress(data, Compression::kGzip), std::nullopt, chunk), data) << chunk;
    EXPECT_EQ(*Decompress(Compress(data, Compression::kZstd), std::nullopt, chunk), data) << chunk;
    EXPECT_EQ(*Decompress(data, std::nullopt, chunk), data) << chunk;
  }
}

TEST(Compression, CorruptInputFails) {
  std::string data = Payload(500000, 7);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    std::string z = Compress(data, c);
    auto truncated = Decompress(z.substr(0, z.size() - 3), c);
    ASSERT_FALSE(truncated) << CompressionName(c);
    EXPECT_EQ(truncated.error().code(), base::ErrorCode::kInvalidArgument);
    std::string flipped = z;
    flipped[flipped.size() - 6] ^= 0x55;  // the gzip CRC / zstd checksum region
    EXPECT_FALSE(Decompress(flipped, c)) << CompressionName(c);
    flipped = z;
    flipped[flipped.size() / 2] ^= 0x55;
    EXPECT_FALSE(Decompress(flipped, c)) << CompressionName(c);
  }
  std::string gz = Compress(data, Compression::kGzip);
  auto garbage = Decompress(gz + "garbage", Compression::kGzip);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message().find("trailing"), std::string::npos);
  EXPECT_FALSE(Decompress("\x1f\x8b\x08", Compression::kGzip));
  EXPECT_FALSE(Decompress("", Compression::kGzip));
  EXPECT_FALSE(Decompress("not zstd", Compression::kZstd));
}

TEST(Compression, TapsSeeBothSides) {
  std::string data = Payload(1500000, 8);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string comp_tap, plain_tap;
    StreamTaps write_taps{
        [&](const void* p, size_t n) { comp_tap.append(static_cast<const char*>(p), n); },
        [&](const void* p, size_t n) { plain_tap.append(static_cast<const char*>(p), n); }};
    StringSink sink;
    CompressingSink z(sink, c, CompressingSink::kDefaultLevel, write_taps);
    ASSERT_TRUE(z.Write(data.data(), data.size()));
    ASSERT_TRUE(z.Close());
    EXPECT_EQ(comp_tap, sink.data());  // "compressed" tap of a sink = what reached the sink
    EXPECT_EQ(plain_tap, data);

    std::string blob_tap, tar_tap;
    MemorySource mem(sink.data());
    DecompressingSource d(
        mem, {[&](const void* p, size_t n) { blob_tap.append(static_cast<const char*>(p), n); },
              [&](const void* p, size_t n) { tar_tap.append(static_cast<const char*>(p), n); }});
    EXPECT_EQ(*ReadAll(d, 777), data);
    EXPECT_EQ(d.compression(), c);
    EXPECT_EQ(blob_tap, sink.data()) << CompressionName(c);
    EXPECT_EQ(tar_tap, data) << CompressionName(c);
    EXPECT_EQ(d.compressed_bytes(), sink.data().size());
    EXPECT_EQ(d.uncompressed_bytes(), data.size());
  }
}

TEST(Compression, InvalidLevelsFail) {
  StringSink sink;
  CompressingSink g(sink, Compression::kGzip, 4);
  EXPECT_FALSE(g.Write("x", 1));
  CompressingSink z(sink, Compression::kZstd, 99);
  EXPECT_FALSE(z.Close());
}

}  // namespace
}  // namespace berth::archive
