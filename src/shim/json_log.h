// Docker's json-file log driver, as the shim writes it: one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-28T05:37:10.123456789Z"}
// with the output split on newlines the way dockerd's copier does, and size-based rotation
// (file, file.1, ... file.<max_file-1>). No JSON library: the shim's steady path stays small.
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace berth::shim {

// Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed, as dockerd writes it).
// Writes into buf (at least 40 bytes) and returns the view.
std::string_view FormatLogTime(const struct timespec& ts, char* buf);

// Appends s to out as the inside of a JSON string: base::JsonEscape, after replacing bytes that
// are not valid UTF-8 with U+FFFD (as Go's encoder does) so every line stays valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

class JsonFileLog {
 public:
  struct Options {
    std::string path;
    int64_t max_size = -1;  // rotate once the file has reached this many bytes; -1: never
    int max_file = 1;       // files kept, the live one included; 1: truncate instead of rotate
  };

  JsonFileLog() = default;
  // Opens (creates, appends to) the live file.
  static base::Result<JsonFileLog> Open(Options options);

  bool enabled() const { return fd_.valid(); }
  // Writes one entry with a single write(2), rotating first if the file is full. stream is
  // "stdout" or "stderr"; line is written as is (the splitter keeps its '\n').
  base::Status Write(std::string_view stream, std::string_view line, const struct timespec& ts);

 private:
  base::Status Rotate();

  Options options_;
  sys::UniqueFd fd_;
  int64_t size_ = 0;
  std::string buf_;  // reused between entries
};

// Splits one stream into log lines like dockerd's copier: a line ends at '\n' (kept); a line
// longer than kMaxLine is cut into kMaxLine pieces without '\n'; Flush emits what is left when
// the stream ends.
class LineSplitter {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;

  template <typename Emit>
  void Feed(std::string_view data, Emit&& emit) {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(data);
        while (partial_.size() >= kMaxLine) {
          emit(std::string_view(partial_).substr(0, kMaxLine));
          partial_.erase(0, kMaxLine);
        }
        return;
      }
      std::string_view head = data.substr(0, nl + 1);
      data.remove_prefix(nl + 1);
      if (partial_.empty() && head.size() <= kMaxLine) {
        emit(head);
        continue;
      }
      partial_.append(head);
      while (partial_.size() > kMaxLine) {
        emit(std::string_view(partial_).substr(0, kMaxLine));
        partial_.erase(0, kMaxLine);
      }
      emit(std::string_view(partial_));
      partial_.clear();
    }
  }
  template <typename Emit>
  void Flush(Emit&& emit) {
    if (!partial_.empty()) emit(std::string_view(partial_));
    partial_.clear();
    partial_.shrink_to_fit();
  }

 private:
  std::string partial_;
};

}  // namespace berth::shim
