// json-file log writing and rotation.
#include "shim/json_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "base/strings.h"
#include "sys/file.h"

namespace berth::shim {

using base::Error;
using base::Fail;

std::string_view FormatLogTime(const struct timespec& ts, char* buf) {
  // Civil date by arithmetic, not gmtime_r: glibc's gmtime_r loads the time zone (opens and
  // parses /etc/localtime) on its first call, which every shim would pay at its first line.
  using namespace std::chrono;
  const sys_seconds secs{seconds{ts.tv_sec}};
  const sys_days day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  int n = std::snprintf(buf, 40, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<long>(hms.hours().count()),
                        static_cast<long>(hms.minutes().count()),
                        static_cast<long>(hms.seconds().count()));
  if (ts.tv_nsec != 0) {
    n += std::snprintf(buf + n, 40 - n, ".%09ld", static_cast<long>(ts.tv_nsec));
    while (buf[n - 1] == '0') --n;
  }
  buf[n++] = 'Z';
  return std::string_view(buf, static_cast<size_t>(n));
}

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;
    if (c == 0xF4 && b(1) > 0x8F) return 0;
    return 4;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  bool valid = true;
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      valid = false;
      break;
    }
    i += n;
  }
  if (valid) {
    out += base::JsonEscape(s);
    return;
  }
  std::string fixed;
  fixed.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      fixed += "\xEF\xBF\xBD";
      ++i;
    } else {
      fixed.append(s.substr(i, n));
      i += n;
    }
  }
  out += base::JsonEscape(fixed);
}

base::Result<JsonFileLog> JsonFileLog::Open(Options options) {
  JsonFileLog log;
  log.fd_ = TRY(sys::Open(options.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  struct stat st;
  if (::fstat(log.fd_.get(), &st) != 0)
    return Fail(Error::FromErrno(errno, "stat \"" + options.path + "\""));
  log.size_ = st.st_size;
  log.options_ = std::move(options);
  return log;
}

base::Status JsonFileLog::Rotate() {
  const std::string& p = options_.path;
  if (options_.max_file < 2) {
    if (::ftruncate(fd_.get(), 0) != 0)
      return Fail(Error::FromErrno(errno, "truncate \"" + p + "\""));
    size_ = 0;
    return {};
  }
  // dockerd's order: drop the oldest by renaming over it, shift the rest, then reopen.
  for (int i = options_.max_file - 1; i > 1; --i) {
    std::string from = p + "." + std::to_string(i - 1), to = p + "." + std::to_string(i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      return Fail(Error::FromErrno(errno, "rename \"" + from + "\""));
  }
  std::string first = p + ".1";
  if (::rename(p.c_str(), first.c_str()) != 0 && errno != ENOENT)
    return Fail(Error::FromErrno(errno, "rename \"" + p + "\""));
  fd_ = TRY(sys::Open(p, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640));
  size_ = 0;
  return {};
}

base::Status JsonFileLog::Write(std::string_view stream, std::string_view line,
                                const struct timespec& ts) {
  if (!fd_) return {};
  if (options_.max_size > 0 && size_ >= options_.max_size) TRY(Rotate());
  char tbuf[40];
  buf_.clear();
  buf_ += "{\"log\":\"";
  AppendJsonString(buf_, line);
  buf_ += "\",\"stream\":\"";
  buf_ += stream;
  buf_ += "\",\"time\":\"";
  buf_ += FormatLogTime(ts, tbuf);
  buf_ += "\"}\n";
  // One write per entry: a reader never sees half a line from us (O_APPEND).
  TRY(sys::WriteAll(fd_.get(), buf_));
  size_ += static_cast<int64_t>(buf_.size());
  if (buf_.capacity() > 64 * 1024) std::string().swap(buf_);
  return {};
}

}  // namespace berth::shim
