// Small string helpers used across berth.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::base {

std::vector<std::string> Split(std::string_view s, char sep);
// Like Split, but drops empty pieces.
std::vector<std::string> SplitNonEmpty(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
// Whole-string decimal parse; nullopt on junk or overflow.
std::optional<int64_t> ParseInt(std::string_view s);
std::optional<uint64_t> ParseUint(std::string_view s);
// JSON string escaping for hand-written JSON (log lines) where no JSON library is linked.
std::string JsonEscape(std::string_view s);

}  // namespace berth::base
