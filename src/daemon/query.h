// Query-string parsing for the Engine API, as dockerd's httputils and filters packages do it:
// percent-decoding, repeated keys, BoolValue, and the `filters=` JSON in both of its encodings.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::daemon {

// "%2F" -> "/", and "+" -> " " when `plus_is_space` (query strings, not paths). Malformed
// escapes are kept as they are, as Go's lenient callers see them.
std::string PercentDecode(std::string_view text, bool plus_is_space = true);

// A parsed query string: every key with its values in order ("names=a&names=b").
class Query {
 public:
  Query() = default;
  explicit Query(std::string_view raw);

  bool Has(std::string_view key) const { return values_.count(std::string(key)) > 0; }
  // The first value, or `fallback` when the key is absent.
  std::string Get(std::string_view key, std::string_view fallback = {}) const;
  std::vector<std::string> GetAll(std::string_view key) const;
  // dockerd's BoolValue: false iff absent or the lower-cased trimmed value is "", "0", "no",
  // "false" or "none" ("True" from docker-py, "1" from the CLI are true).
  bool Bool(std::string_view key) const;
  // dockerd's BoolValueOrDefault: `fallback` when the key is absent or empty.
  bool BoolOr(std::string_view key, bool fallback) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// Parsed `filters=`: key -> the set of values. Both encodings parse to the same thing: the map
// form {"dangling":{"true":true}} (CLI) and the legacy list form {"dangling":["true"]}
// (docker-py, compose). Map entries whose value is false are dropped.
class Filters {
 public:
  // An empty or absent text is no filters. Malformed JSON is InvalidArgument "invalid filter".
  static base::Result<Filters> Parse(std::string_view json);

  bool empty() const { return values_.empty(); }
  bool Has(std::string_view key) const { return values_.count(std::string(key)) > 0; }
  const std::set<std::string>& Get(std::string_view key) const;
  // Keys not in `allowed`: InvalidArgument "invalid filter '<key>'", dockerd's text.
  base::Status Validate(const std::set<std::string>& allowed) const;
  // For a boolean filter ("dangling"): nullopt when absent; InvalidArgument for values other
  // than true/false/1/0, or for both at once.
  base::Result<std::optional<bool>> Bool(std::string_view key) const;

 private:
  std::map<std::string, std::set<std::string>, std::less<>> values_;
};

// Docker's filters.Match for `reference=`: a shell-style glob ('*', '?', '[..]') over the whole
// string, where '*' does not cross '/' (Go's path.Match).
bool PathMatch(std::string_view pattern, std::string_view name);

}  // namespace berth::daemon
