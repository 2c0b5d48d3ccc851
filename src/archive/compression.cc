// gzip through isa-l's igzip (several times zlib's speed on both sides) and zstd through
// libzstd's streaming API, behind ByteSource/ByteSink.
#include "archive/compression.h"

#include <fmt/format.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace berth::archive {

using base::Error;
using base::Fail;

namespace {

// Large buffers: per-call overhead (and isa-l's per-call setup) vanish at 1 MiB.
constexpr size_t kBufSize = 1 << 20;
// isa-l counts in uint32_t.
constexpr size_t kMaxIsalChunk = 1u << 30;

constexpr uint8_t kGzipMagic[] = {0x1f, 0x8b};
constexpr uint8_t kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};

bool HasPrefix(std::span<const uint8_t> head, std::span<const uint8_t> magic) {
  return head.size() >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
}

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

base::Result<Compression> DetectCompression(std::span<const uint8_t> head) {
  if (HasPrefix(head, kGzipMagic)) return Compression::kGzip;
  if (HasPrefix(head, kZstdMagic)) return Compression::kZstd;
  // A zstd stream may open with a skippable frame: magic 0x184D2A50..0x184D2A5F, little endian.
  if (head.size() >= 4 && (head[0] & 0xf0) == 0x50 && head[1] == 0x2a && head[2] == 0x4d &&
      head[3] == 0x18)
    return Compression::kZstd;
  static constexpr uint8_t kBzip2[] = {'B', 'Z', 'h'};
  static constexpr uint8_t kXz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
  if (HasPrefix(head, kBzip2))
    return Fail(Error::InvalidArgument("bzip2-compressed layers are not supported"));
  if (HasPrefix(head, kXz))
    return Fail(Error::InvalidArgument("xz-compressed layers are not supported"));
  return Compression::kNone;
}

// ---------------------------------------------------------------------------------------------
// DecompressingSource

struct DecompressingSource::Impl {
  enum class GzipPhase { kHeader, kBody, kMemberEnd };

  Impl(ByteSource& in, StreamTaps taps, bool detect, Compression c)
      : in(in), taps(std::move(taps)), detect(detect), compression(c) {}
  ~Impl() {
    if (zstd != nullptr) ZSTD_freeDStream(zstd);
  }

  base::Status Start();
  // Replaces the consumed input buffer with the next bytes of `in`; sets in_eof at its end.
  base::Status Refill();
  base::Result<size_t> ReadNone(void* buf, size_t size);
  base::Result<size_t> ReadGzip(void* buf, size_t size);
  base::Result<size_t> ReadZstd(void* buf, size_t size);

  ByteSource& in;
  StreamTaps taps;
  bool detect;
  Compression compression;
  bool started = false;
  bool done = false;
  std::optional<Error> failed;  // errors are sticky: the stream position is unknown after one

  std::unique_ptr<uint8_t[]> in_buf;
  size_t in_pos = 0;
  size_t in_len = 0;
  bool in_eof = false;
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;

  std::unique_ptr<inflate_state> inflate;
  GzipPhase gzip_phase = GzipPhase::kHeader;
  uint64_t gzip_members = 0;

  ZSTD_DStream* zstd = nullptr;
  size_t zstd_hint = 1;  // 0 right after a frame ends: only then is EOF a clean end
  bool zstd_out_full = false;
};

base::Status DecompressingSource::Impl::Refill() {
  if (!in_buf) in_buf = std::make_unique_for_overwrite<uint8_t[]>(kBufSize);
  in_pos = 0;
  in_len = TRY(in.Read(in_buf.get(), kBufSize));
  if (in_len == 0) {
    in_eof = true;
  } else {
    compressed_bytes += in_len;
    if (taps.compressed) taps.compressed(in_buf.get(), in_len);
  }
  return {};
}

base::Status DecompressingSource::Impl::Start() {
  started = true;
  if (detect) {
    in_buf = std::make_unique_for_overwrite<uint8_t[]>(kBufSize);
    // Short reads (a pipe, a socket) may deliver fewer than the 4 magic bytes at first.
    while (in_len < 4) {
      size_t n = TRY(in.Read(in_buf.get() + in_len, kBufSize - in_len));
      if (n == 0) {
        in_eof = true;
        break;
      }
      if (taps.compressed) taps.compressed(in_buf.get() + in_len, n);
      in_len += n;
      compressed_bytes += n;
    }
    compression = TRY(DetectCompression({in_buf.get(), in_len}));
  }
  switch (compression) {
    case Compression::kNone:
      break;
    case Compression::kGzip:
      inflate = std::make_unique<inflate_state>();
      isal_inflate_init(inflate.get());
      break;
    case Compression::kZstd:
      zstd = ZSTD_createDStream();
      if (zstd == nullptr) return Fail(Error::Internal("zstd: cannot allocate a decoder"));
      break;
  }
  return {};
}

base::Result<size_t> DecompressingSource::Impl::ReadNone(void* buf, size_t size) {
  if (in_pos < in_len) {
    size_t n = std::min(size, in_len - in_pos);
    std::memcpy(buf, in_buf.get() + in_pos, n);
    in_pos += n;
    return n;
  }
  if (in_eof) return 0;
  size_t n = TRY(in.Read(buf, size));
  if (n == 0) {
    in_eof = true;
  } else {
    compressed_bytes += n;
    if (taps.compressed) taps.compressed(buf, n);
  }
  return n;
}

base::Result<size_t> DecompressingSource::Impl::ReadGzip(void* buf, size_t size) {
  inflate_state* st = inflate.get();
  while (true) {
    switch (gzip_phase) {
      case GzipPhase::kHeader: {
        if (in_pos == in_len) {
          if (in_eof) return Fail(Error::InvalidArgument("gzip: truncated header"));
          TRY(Refill());
          continue;
        }
        isal_gzip_header header;
        isal_gzip_header_init(&header);  // name, comment and extra are skipped, not kept
        st->next_in = in_buf.get() + in_pos;
        st->avail_in = static_cast<uint32_t>(in_len - in_pos);
        int ret = isal_read_gzip_header(st, &header);
        in_pos = in_len - st->avail_in;
        if (ret == ISAL_END_INPUT) {
          // isa-l keeps a partial header in its state and resumes on the next call.
          if (in_eof) return Fail(Error::InvalidArgument("gzip: truncated header"));
          TRY(Refill());
          continue;
        }
        if (ret != ISAL_DECOMP_OK)
          return Fail(Error::InvalidArgument(fmt::format("gzip: invalid header (isa-l {})", ret)));
        // The header is consumed; the body's CRC32 and ISIZE trailer is verified by isa-l.
        st->crc_flag = ISAL_GZIP_NO_HDR_VER;
        gzip_phase = GzipPhase::kBody;
        ++gzip_members;
        continue;
      }
      case GzipPhase::kBody: {
        if (in_pos == in_len && !in_eof) TRY(Refill());
        size_t cap = std::min(size, kMaxIsalChunk);
        st->next_in = in_buf.get() + in_pos;
        st->avail_in = static_cast<uint32_t>(in_len - in_pos);
        st->next_out = static_cast<uint8_t*>(buf);
        st->avail_out = static_cast<uint32_t>(cap);
        size_t before_in = in_pos;
        int ret = isal_inflate(st);
        in_pos = in_len - st->avail_in;
        size_t produced = cap - st->avail_out;
        if (ret < 0 || ret == ISAL_NEED_DICT)
          return Fail(Error::InvalidArgument(
              ret == ISAL_INCORRECT_CHECKSUM ? std::string("gzip: CRC or length mismatch")
                                             : fmt::format("gzip: corrupt data (isa-l {})", ret)));
        if (st->block_state == ISAL_BLOCK_FINISH) gzip_phase = GzipPhase::kMemberEnd;
        if (produced > 0) return produced;
        if (gzip_phase == GzipPhase::kMemberEnd) continue;
        if (in_pos == in_len && in_eof) return Fail(Error::InvalidArgument("gzip: truncated data"));
        if (in_pos == before_in && in_pos < in_len)
          return Fail(Error::Internal("gzip: decoder made no progress"));
        continue;
      }
      case GzipPhase::kMemberEnd: {
        if (in_pos == in_len) {
          if (in_eof) return 0;
          TRY(Refill());
          continue;
        }
        // Another member (pigz --independent, concatenated files). Anything else is garbage; we
        // fail like Go's gzip reader (and so Docker) does rather than hash an unverified tail.
        if (in_buf[in_pos] != kGzipMagic[0])
          return Fail(Error::InvalidArgument("gzip: trailing bytes after the last member"));
        isal_inflate_reset(st);
        gzip_phase = GzipPhase::kHeader;
        continue;
      }
    }
  }
}

base::Result<size_t> DecompressingSource::Impl::ReadZstd(void* buf, size_t size) {
  while (true) {
    if (in_pos == in_len && !zstd_out_full) {
      if (in_eof) {
        if (zstd_hint != 0) return Fail(Error::InvalidArgument("zstd: truncated frame"));
        return 0;
      }
      TRY(Refill());
      continue;
    }
    ZSTD_inBuffer zin = {in_buf.get(), in_len, in_pos};
    ZSTD_outBuffer zout = {buf, size, 0};
    size_t ret = ZSTD_decompressStream(zstd, &zout, &zin);
    in_pos = zin.pos;
    if (ZSTD_isError(ret))
      return Fail(Error::InvalidArgument(fmt::format("zstd: {}", ZSTD_getErrorName(ret))));
    zstd_hint = ret;
    // A full output buffer may leave decoded bytes inside zstd: call again before refilling.
    zstd_out_full = zout.pos == zout.size;
    if (zout.pos > 0) return zout.pos;
  }
}

DecompressingSource::DecompressingSource(ByteSource& in, StreamTaps taps)
    : impl_(std::make_unique<Impl>(in, std::move(taps), true, Compression::kNone)) {}

DecompressingSource::DecompressingSource(ByteSource& in, Compression compression, StreamTaps taps)
    : impl_(std::make_unique<Impl>(in, std::move(taps), false, compression)) {}

DecompressingSource::~DecompressingSource() = default;

Compression DecompressingSource::compression() const { return impl_->compression; }
uint64_t DecompressingSource::compressed_bytes() const { return impl_->compressed_bytes; }
uint64_t DecompressingSource::uncompressed_bytes() const { return impl_->uncompressed_bytes; }

base::Result<size_t> DecompressingSource::Read(void* buf, size_t size) {
  Impl& s = *impl_;
  if (s.failed) return Fail(*s.failed);
  if (s.done || size == 0) return 0;
  auto run = [&]() -> base::Result<size_t> {
    if (!s.started) TRY(s.Start());
    switch (s.compression) {
      case Compression::kNone:
        return s.ReadNone(buf, size);
      case Compression::kGzip:
        return s.ReadGzip(buf, size);
      case Compression::kZstd:
        return s.ReadZstd(buf, size);
    }
    return Fail(Error::Internal("unknown compression"));
  };
  auto n = run();
  if (!n) {
    s.failed = n.error();
    return n;
  }
  if (*n == 0) {
    s.done = true;
    return 0;
  }
  s.uncompressed_bytes += *n;
  if (s.taps.uncompressed) s.taps.uncompressed(buf, *n);
  return n;
}

// ---------------------------------------------------------------------------------------------
// CompressingSink

struct CompressingSink::Impl {
  Impl(ByteSink& out, Compression c, StreamTaps taps)
      : out(out), compression(c), taps(std::move(taps)) {}
  ~Impl() {
    if (zstd != nullptr) ZSTD_freeCCtx(zstd);
  }

  base::Status Init(int level);
  base::Status Emit(const uint8_t* data, size_t size) {
    if (size == 0) return {};
    TRY(out.Write(data, size));
    if (taps.compressed) taps.compressed(data, size);
    return {};
  }
  base::Status WriteGzip(const uint8_t* data, size_t size, bool end);
  base::Status WriteZstd(const uint8_t* data, size_t size, ZSTD_EndDirective mode);

  ByteSink& out;
  Compression compression;
  StreamTaps taps;
  std::optional<Error> failed;
  bool closed = false;
  std::unique_ptr<uint8_t[]> out_buf;
  std::unique_ptr<isal_zstream> deflate;
  std::unique_ptr<uint8_t[]> level_buf;
  ZSTD_CCtx* zstd = nullptr;
};

base::Status CompressingSink::Impl::Init(int level) {
  if (compression == Compression::kNone) return {};
  out_buf = std::make_unique_for_overwrite<uint8_t[]>(kBufSize);
  if (compression == Compression::kGzip) {
    if (level == kDefaultLevel) level = 1;
    static constexpr uint32_t kLevelBufSize[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                                 ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
    if (level < 0 || level > ISAL_DEF_MAX_LEVEL)
      return Fail(Error::InvalidArgument(fmt::format("gzip level {} is not in 0..3", level)));
    deflate = std::make_unique<isal_zstream>();
    isal_deflate_init(deflate.get());
    deflate->level = static_cast<uint32_t>(level);
    deflate->level_buf_size = kLevelBufSize[level];
    if (deflate->level_buf_size > 0) {
      level_buf = std::make_unique_for_overwrite<uint8_t[]>(deflate->level_buf_size);
      deflate->level_buf = level_buf.get();
    }
    deflate->gzip_flag = IGZIP_GZIP;  // isa-l writes a fixed header: mtime 0, no name
    deflate->flush = NO_FLUSH;
    return {};
  }
  if (level == kDefaultLevel) level = 3;
  if (level < 1 || level > ZSTD_maxCLevel())
    return Fail(Error::InvalidArgument(fmt::format("zstd level {} is not in 1..19", level)));
  zstd = ZSTD_createCCtx();
  if (zstd == nullptr) return Fail(Error::Internal("zstd: cannot allocate an encoder"));
  ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(zstd, ZSTD_c_checksumFlag, 1);  // as the zstd CLI does
  return {};
}

base::Status CompressingSink::Impl::WriteGzip(const uint8_t* data, size_t size, bool end) {
  isal_zstream* zs = deflate.get();
  do {
    size_t chunk = std::min(size, kMaxIsalChunk);
    zs->next_in = const_cast<uint8_t*>(data);  // isa-l does not write through next_in
    zs->avail_in = static_cast<uint32_t>(chunk);
    zs->end_of_stream = end && chunk == size;
    do {
      zs->next_out = out_buf.get();
      zs->avail_out = kBufSize;
      int ret = isal_deflate(zs);
      if (ret != COMP_OK)
        return Fail(Error::Internal(fmt::format("gzip: isal_deflate failed ({})", ret)));
      TRY(Emit(out_buf.get(), kBufSize - zs->avail_out));
    } while (zs->avail_in > 0 || (zs->end_of_stream && zs->internal_state.state != ZSTATE_END));
    data += chunk;
    size -= chunk;
  } while (size > 0);
  return {};
}

base::Status CompressingSink::Impl::WriteZstd(const uint8_t* data, size_t size,
                                              ZSTD_EndDirective mode) {
  ZSTD_inBuffer zin = {data, size, 0};
  while (true) {
    ZSTD_outBuffer zout = {out_buf.get(), kBufSize, 0};
    size_t ret = ZSTD_compressStream2(zstd, &zout, &zin, mode);
    if (ZSTD_isError(ret))
      return Fail(Error::Internal(fmt::format("zstd: {}", ZSTD_getErrorName(ret))));
    TRY(Emit(out_buf.get(), zout.pos));
    bool finished = mode == ZSTD_e_end ? ret == 0 : zin.pos == zin.size;
    if (finished) return {};
  }
}

CompressingSink::CompressingSink(ByteSink& out, Compression compression, int level, StreamTaps taps)
    : impl_(std::make_unique<Impl>(out, compression, std::move(taps))) {
  if (auto r = impl_->Init(level); !r) impl_->failed = r.error();
}

CompressingSink::~CompressingSink() = default;

base::Status CompressingSink::Write(const void* data, size_t size) {
  Impl& s = *impl_;
  if (s.failed) return Fail(*s.failed);
  if (s.closed) return Fail(Error::InvalidArgument("write to a closed compressor"));
  if (size == 0) return {};
  auto* p = static_cast<const uint8_t*>(data);
  if (s.taps.uncompressed) s.taps.uncompressed(p, size);
  base::Status r;
  switch (s.compression) {
    case Compression::kNone:
      r = s.Emit(p, size);
      break;
    case Compression::kGzip:
      r = s.WriteGzip(p, size, false);
      break;
    case Compression::kZstd:
      r = s.WriteZstd(p, size, ZSTD_e_continue);
      break;
  }
  if (!r) s.failed = r.error();
  return r;
}

base::Status CompressingSink::Close() {
  Impl& s = *impl_;
  if (s.failed) return Fail(*s.failed);
  if (s.closed) return {};
  s.closed = true;
  base::Status r;
  switch (s.compression) {
    case Compression::kNone:
      break;
    case Compression::kGzip:
      r = s.WriteGzip(nullptr, 0, true);
      break;
    case Compression::kZstd:
      r = s.WriteZstd(nullptr, 0, ZSTD_e_end);
      break;
  }
  if (!r) s.failed = r.error();
  return r;
}

}  // namespace berth::archive
