// Query-string and filters parsing; see query.h.
#include "daemon/query.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace berth::daemon {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<bool> ParseBoolText(std::string_view v) {
  std::string s(base::Trim(v));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "" || s == "0" || s == "no" || s == "false" || s == "none") return false;
  return true;
}

}  // namespace

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(c == '+' && plus_is_space ? ' ' : c);
  }
  return out;
}

Query::Query(std::string_view raw) {
  for (const std::string& pair : base::Split(raw, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = PercentDecode(std::string_view(pair).substr(0, eq));
    std::string value =
        eq == std::string::npos ? "" : PercentDecode(std::string_view(pair).substr(eq + 1));
    values_[key].push_back(std::move(value));
  }
}

std::string Query::Get(std::string_view key, std::string_view fallback) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return std::string(fallback);
  return it->second.front();
}

std::vector<std::string> Query::GetAll(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Query::Bool(std::string_view key) const { return *ParseBoolText(Get(key)); }

bool Query::BoolOr(std::string_view key, bool fallback) const {
  std::string v = Get(key);
  if (base::Trim(v).empty()) return fallback;
  return *ParseBoolText(v);
}

base::Result<Filters> Filters::Parse(std::string_view text) {
  Filters f;
  if (base::Trim(text).empty()) return f;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto invalid = [&] {
    return base::Fail(base::Error::InvalidArgument(
        "invalid filter: expected a JSON object of filter names to values, got " +
        std::string(text)));
  };
  if (!j.is_object()) return invalid();
  for (const auto& [key, value] : j.items()) {
    std::set<std::string>& set = f.values_[key];
    if (value.is_object()) {
      for (const auto& [v, on] : value.items()) {
        if (!on.is_boolean()) return invalid();
        if (on.get<bool>()) set.insert(v);
      }
    } else if (value.is_array()) {
      for (const auto& v : value) {
        if (!v.is_string()) return invalid();
        set.insert(v.get<std::string>());
      }
    } else {
      return invalid();
    }
  }
  return f;
}

const std::set<std::string>& Filters::Get(std::string_view key) const {
  static const std::set<std::string> kEmpty;
  auto it = values_.find(key);
  return it == values_.end() ? kEmpty : it->second;
}

base::Status Filters::Validate(const std::set<std::string>& allowed) const {
  for (const auto& [key, _] : values_) {
    if (!allowed.count(key))
      return base::Fail(base::Error::InvalidArgument("invalid filter '" + key + "'"));
  }
  return {};
}

base::Result<std::optional<bool>> Filters::Bool(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return std::optional<bool>();
  std::optional<bool> result;
  for (const std::string& v : it->second) {
    std::string l = v;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    bool b;
    if (l == "true" || l == "1") {
      b = true;
    } else if (l == "false" || l == "0") {
      b = false;
    } else {
      return base::Fail(base::Error::InvalidArgument("invalid filter '" + std::string(key) + "=" +
                                                     v + "': invalid bool value"));
    }
    if (result && *result != b)
      return base::Fail(base::Error::InvalidArgument("invalid filter '" + std::string(key) +
                                                     "': conflicting values"));
    result = b;
  }
  return result;
}

bool PathMatch(std::string_view pattern, std::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), FNM_PATHNAME) == 0;
}

}  // namespace berth::daemon
