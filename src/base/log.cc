// The process-wide log sink.
#include "base/log.h"

#include <unistd.h>

#include "base/strings.h"
#include "base/time.h"

namespace berth::base {
namespace {
LogConfig g_config;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void SetLogConfig(const LogConfig& config) { g_config = config; }
const LogConfig& GetLogConfig() { return g_config; }

void LogLine(LogLevel level, std::string_view message) {
  if (level < g_config.min_level) return;
  std::string line;
  if (g_config.json) {
    line = fmt::format("{{\"level\":\"{}\",\"msg\":\"{}\",\"time\":\"{}\"}}\n", LevelName(level),
                       JsonEscape(message), NowRfc3339Nano());
  } else {
    line = fmt::format("{}: {}\n", LevelName(level), message);
  }
  // One write per line so concurrent writers (runtime and its children) do not interleave.
  ssize_t unused = write(g_config.fd, line.data(), line.size());
  (void)unused;
}

}  // namespace berth::base
