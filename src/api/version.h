// API versions as the Engine API spells them ("1.41"): the range berth serves and how to compare
// the version a client puts in a path ("/v1.41/info").
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace berth::api {

// What berth claims: the 20.10 CLI's maximum and docker-py 5's default (see the reference doc).
inline constexpr std::string_view kApiVersion = "1.41";
inline constexpr std::string_view kMinApiVersion = "1.24";

struct ApiVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const ApiVersion&) const = default;
};

// "1.41" -> {1, 41}. nullopt for anything else ("1", "1.x", "v1.41", "1.41.0", "").
std::optional<ApiVersion> ParseApiVersion(std::string_view s);
std::string FormatApiVersion(ApiVersion v);

// The parsed forms of kApiVersion and kMinApiVersion.
ApiVersion MaxApiVersion();
ApiVersion MinApiVersion();

}  // namespace berth::api
