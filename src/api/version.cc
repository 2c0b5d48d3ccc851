// API version parsing and the supported range.
#include "api/version.h"

#include <fmt/format.h>

#include "base/strings.h"

namespace berth::api {

std::optional<ApiVersion> ParseApiVersion(std::string_view s) {
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view major = s.substr(0, dot), minor = s.substr(dot + 1);
  // ParseUint accepts only digits, so "+1" and " 1" are refused; bound the lengths against
  // overflow into int.
  if (major.empty() || minor.empty() || major.size() > 4 || minor.size() > 4) return std::nullopt;
  auto ma = base::ParseUint(major), mi = base::ParseUint(minor);
  if (!ma || !mi) return std::nullopt;
  return ApiVersion{static_cast<int>(*ma), static_cast<int>(*mi)};
}

std::string FormatApiVersion(ApiVersion v) { return fmt::format("{}.{}", v.major, v.minor); }

ApiVersion MaxApiVersion() { return *ParseApiVersion(kApiVersion); }
ApiVersion MinApiVersion() { return *ParseApiVersion(kMinApiVersion); }

}  // namespace berth::api
