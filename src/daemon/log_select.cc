// See log_select.h.
#include "daemon/log_select.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "sys/file.h"

namespace berth::daemon {

using base::Error;
using base::Fail;

std::optional<LogEntry> ParseLogLine(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  LogEntry e;
  auto log = j.find("log");
  if (log == j.end() || !log->is_string()) return std::nullopt;
  e.log = log->get<std::string>();
  auto stream = j.find("stream");
  e.stream = stream != j.end() && stream->is_string() ? stream->get<std::string>() : "stdout";
  auto time = j.find("time");
  if (time != j.end() && time->is_string())
    e.time_nano = ParseRfc3339Nanos(time->get<std::string>()).value_or(0);
  if (auto attrs = j.find("attrs"); attrs != j.end() && attrs->is_object()) {
    // nlohmann's object is a std::map: the keys come sorted, as dockerd sorts them.
    for (const auto& [key, value] : attrs->items()) {
      if (!value.is_string()) continue;
      if (!e.attrs.empty()) e.attrs += ',';
      e.attrs += key + "=" + value.get<std::string>();
    }
  }
  return e;
}

std::optional<int64_t> ParseRfc3339Nanos(std::string_view s) {
  // 2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto year = digits(0, 4), mon = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
       min = digits(14, 2), sec = digits(17, 2);
  if (!year || !mon || !day || !hour || !min || !sec) return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':') return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  struct tm tm = {};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *mon - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *min;
  tm.tm_sec = *sec;
  int64_t secs = int64_t(timegm(&tm)) - offset;
  return secs * 1000000000 + frac;
}

std::string FormatRfc3339NanoFixed(int64_t unix_nanos) {
  int64_t secs = unix_nanos / 1000000000, nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  time_t t = time_t(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

base::Result<int64_t> ParseUnixTimestamp(std::string_view text) {
  auto bad = [&] {
    return Fail(Error::InvalidArgument(fmt::format("invalid timestamp: \"{}\"", text)));
  };
  std::string_view secs = text, frac;
  if (size_t dot = text.find('.'); dot != std::string_view::npos) {
    secs = text.substr(0, dot);
    frac = text.substr(dot + 1);
  }
  auto s = base::ParseInt(secs);
  if (!s) return bad();
  int64_t nanos = 0;
  if (!frac.empty()) {
    auto n = base::ParseUint(frac);
    if (!n || frac.size() > 18) return bad();
    nanos = int64_t(*n);
    // "should already be in nanoseconds but just in case convert n to nanoseconds" (dockerd)
    for (size_t i = frac.size(); i < 9; ++i) nanos *= 10;
    for (size_t i = 9; i < frac.size(); ++i) nanos /= 10;
  }
  return *s * 1000000000 + (*s < 0 ? -nanos : nanos);
}

base::Result<LogSelection> ParseLogSelection(std::string_view stdout_param,
                                             std::string_view stderr_param, std::string_view since,
                                             std::string_view until, std::string_view tail,
                                             bool timestamps) {
  auto truthy = [](std::string_view v) {
    std::string l(base::Trim(v));
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    return !(l.empty() || l == "0" || l == "no" || l == "false" || l == "none");
  };
  LogSelection sel;
  sel.stdout_wanted = truthy(stdout_param);
  sel.stderr_wanted = truthy(stderr_param);
  if (!sel.stdout_wanted && !sel.stderr_wanted)
    return Fail(Error::InvalidArgument("Bad parameters: you must choose at least one stream"));
  if (!since.empty()) sel.since_nano = TRY(ParseUnixTimestamp(since));
  if (!until.empty()) sel.until_nano = TRY(ParseUnixTimestamp(until));
  auto n = base::ParseInt(base::Trim(tail));
  sel.tail = n ? *n : -1;
  sel.timestamps = timestamps;
  return sel;
}

bool Selected(const LogEntry& e, const LogSelection& sel) {
  if (e.stream == "stderr" ? !sel.stderr_wanted : !sel.stdout_wanted) return false;
  if (sel.since_nano > 0 && e.time_nano < sel.since_nano) return false;
  if (sel.until_nano > 0 && e.time_nano > sel.until_nano) return false;
  return true;
}

std::vector<LogEntry> SelectLogEntries(std::vector<LogEntry> entries, const LogSelection& sel) {
  // dockerd tails the files first and filters what the tail returned.
  if (sel.tail >= 0 && size_t(sel.tail) < entries.size())
    entries.erase(entries.begin(), entries.end() - sel.tail);
  std::erase_if(entries, [&](const LogEntry& e) { return !Selected(e, sel); });
  return entries;
}

std::string FrameLogEntry(const LogEntry& e, const LogSelection& sel) {
  std::string payload;
  if (sel.timestamps) payload = FormatRfc3339NanoFixed(e.time_nano) + " ";
  if (sel.details) payload += e.attrs + " ";
  payload += e.log;
  if (sel.tty) return payload;
  uint32_t n = uint32_t(payload.size());
  char header[8] = {char(e.stream == "stderr" ? 2 : 1),
                    0,
                    0,
                    0,
                    char(n >> 24),
                    char(n >> 16),
                    char(n >> 8),
                    char(n)};
  std::string out(header, 8);
  out += payload;
  return out;
}

void JsonLogReader::ReadFrom(int fd, std::vector<LogEntry>& out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (fd == fd_.get()) offset_ += n;
    partial_.append(buf, size_t(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (auto e = ParseLogLine(std::string_view(partial_).substr(start, nl - start)))
        out.push_back(std::move(*e));
    }
    partial_.erase(0, start);
  }
}

void JsonLogReader::OpenLive() {
  auto fd = sys::Open(path_, O_RDONLY | O_CLOEXEC);
  if (!fd) return;
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return;
  fd_ = std::move(*fd);
  ino_ = st.st_ino;
  offset_ = 0;
  partial_.clear();
}

std::vector<LogEntry> JsonLogReader::ReadAll() {
  std::vector<LogEntry> out;
  // The live file first (so a rotation while we read the old ones is noticed by Poll), but its
  // entries go last.
  OpenLive();
  int count = 0;
  while (count < 1000 && sys::Exists(fmt::format("{}.{}", path_, count + 1))) ++count;
  for (int i = count; i >= 1; --i) {
    auto fd = sys::Open(fmt::format("{}.{}", path_, i), O_RDONLY | O_CLOEXEC);
    if (!fd) continue;
    ReadFrom(fd->get(), out);
    partial_.clear();
  }
  if (fd_) ReadFrom(fd_.get(), out);
  return out;
}

std::vector<LogEntry> JsonLogReader::Poll() {
  std::vector<LogEntry> out;
  if (!fd_) {
    OpenLive();
    if (!fd_) return out;
  }
  struct stat st;
  if (fstat(fd_.get(), &st) == 0 && st.st_size < offset_) {
    // Truncated (max-file 1): start over.
    (void)lseek(fd_.get(), 0, SEEK_SET);
    offset_ = 0;
    partial_.clear();
  }
  // stat before draining: once the path names a new file the shim no longer writes the old
  // one, so everything it got is read below before switching.
  struct stat now;
  bool rotated = ::stat(path_.c_str(), &now) == 0 && now.st_ino != ino_;
  ReadFrom(fd_.get(), out);
  if (rotated) {
    OpenLive();
    if (fd_) ReadFrom(fd_.get(), out);
  }
  return out;
}

}  // namespace berth::daemon
