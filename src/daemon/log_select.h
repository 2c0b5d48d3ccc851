// Reading a container's json-file log the way `docker logs` does: the entries of the rotated
// files and the live one, selected by stream, since/until and tail, framed for the wire
// (8-byte multiplexing headers without a TTY, raw bytes with one, an optional RFC 3339 prefix),
// and followed as the shim appends and rotates (see src/shim/json_log.h for the writer).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

struct LogEntry {
  std::string stream;     // "stdout" or "stderr"
  std::string log;        // the payload, with its '\n' when the line had one
  int64_t time_nano = 0;  // unix time
  // The line's "attrs" (log-opts labels/env), as `logs --details` shows them: "k=v,k2=v2",
  // sorted by key; empty when the line has none.
  std::string attrs;
};

// One json-file line ({"log","stream","time"}); nullopt for anything else.
std::optional<LogEntry> ParseLogLine(std::string_view line);

// Go's RFC3339Nano ("2026-11-28T05:37:10.123456789Z", offsets allowed) -> unix nanoseconds;
// nullopt when malformed.
std::optional<int64_t> ParseRfc3339Nanos(std::string_view text);
// jsonmessage.RFC3339NanoFixed in UTC, as `docker logs -t` prints it: always nine digits.
std::string FormatRfc3339NanoFixed(int64_t unix_nanos);
// dockerd's timetypes.ParseTimestamps: "secs" or "secs.frac" -> unix nanoseconds (the
// fraction is scaled by its number of digits). InvalidArgument when malformed.
base::Result<int64_t> ParseUnixTimestamp(std::string_view text);

struct LogSelection {
  bool stdout_wanted = true, stderr_wanted = true;
  int64_t since_nano = 0;  // 0: no lower bound; entries before it are skipped
  int64_t until_nano = 0;  // 0: no upper bound; entries after it are skipped
  int64_t tail = -1;       // < 0: all; n: only the last n entries of the existing log
  bool timestamps = false;
  bool details = false;  // attrs and a space before each line (after the timestamp)
  bool tty = false;      // raw payloads instead of multiplexed frames
};

// The query parameters of GET /containers/{id}/logs (stdout, stderr, since, until, tail,
// timestamps) -> a selection; InvalidArgument for a bad since/until, or neither stream.
// `tail` other than a number means all, as dockerd's strconv.Atoi fallback does.
base::Result<LogSelection> ParseLogSelection(std::string_view stdout_param,
                                             std::string_view stderr_param, std::string_view since,
                                             std::string_view until, std::string_view tail,
                                             bool timestamps);

// Stream and time window of one entry (tail is not considered).
bool Selected(const LogEntry& entry, const LogSelection& selection);
// The existing log as docker shows it: the last `tail` entries, then those in the window and
// of the wanted streams.
std::vector<LogEntry> SelectLogEntries(std::vector<LogEntry> entries,
                                       const LogSelection& selection);
// One entry on the wire.
std::string FrameLogEntry(const LogEntry& entry, const LogSelection& selection);

// Reads <path>.N ... <path>.1 and <path> in that order (oldest first), then follows <path>:
// Poll() returns the entries appended since, switching to the new file when the shim rotates
// (after draining the old one) and starting over when it truncates.
class JsonLogReader {
 public:
  explicit JsonLogReader(std::string path) : path_(std::move(path)) {}

  // Every entry that exists now, oldest first. Keeps the live file open for Poll().
  std::vector<LogEntry> ReadAll();
  // Entries written since the last call (or ReadAll); only complete lines.
  std::vector<LogEntry> Poll();

 private:
  void ReadFrom(int fd, std::vector<LogEntry>& out);
  void OpenLive();

  std::string path_;
  sys::UniqueFd fd_;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  std::string partial_;  // an incomplete last line
};

}  // namespace berth::daemon
