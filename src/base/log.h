// Logging facade. One process-wide sink: text to stderr by default, or JSON lines
// ({"level":..,"msg":..,"time":..}) to a file, the shape runc's --log-format json writes and
// containerd's shim reads back (it reports the last "error" line to the user).
// Not thread-safe to reconfigure; logging itself is a single write(2) per line.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace berth::base {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

struct LogConfig {
  LogLevel min_level = LogLevel::kWarn;
  bool json = false;
  int fd = 2;  // where lines go; the caller owns the fd
};

void SetLogConfig(const LogConfig& config);
const LogConfig& GetLogConfig();
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void LogDebug(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLogConfig().min_level <= LogLevel::kDebug)
    LogLine(LogLevel::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLogConfig().min_level <= LogLevel::kInfo)
    LogLine(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogWarn(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLogConfig().min_level <= LogLevel::kWarn)
    LogLine(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogError(fmt::format_string<Args...> f, Args&&... args) {
  LogLine(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace berth::base
