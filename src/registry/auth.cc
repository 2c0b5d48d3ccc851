// Challenge and token-answer parsing.
#include "registry/auth.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/strings.h"

namespace berth::registry {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsTokenChar(char c) { return !IsSpace(c) && c != ',' && c != '=' && c != '"'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  bool Done() const { return pos_ >= s_.size(); }
  char Peek() const { return Done() ? '\0' : s_[pos_]; }
  void SkipSpace() {
    while (!Done() && IsSpace(s_[pos_])) ++pos_;
  }
  void SkipSpaceAndCommas() {
    while (!Done() && (IsSpace(s_[pos_]) || s_[pos_] == ',')) ++pos_;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (!Done() && IsTokenChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // After the opening quote: up to the closing one, resolving backslash escapes.
  std::string Quoted() {
    std::string out;
    ++pos_;
    while (!Done() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (!Done()) ++pos_;
    return out;
  }
  size_t pos() const { return pos_; }
  void Rewind(size_t p) { pos_ = p; }
  void Skip() { ++pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Challenge> ParseChallenges(std::string_view header) {
  std::vector<Challenge> out;
  Lexer lx(header);
  while (true) {
    lx.SkipSpaceAndCommas();
    if (lx.Done()) break;
    std::string_view scheme = lx.Token();
    if (scheme.empty()) {
      lx.Skip();  // a stray '=' or '"' outside any parameter
      continue;
    }
    Challenge ch;
    ch.scheme = Lower(scheme);
    // Parameters: name=value pairs separated by commas, until a bare token starts the next
    // challenge.
    while (true) {
      lx.SkipSpaceAndCommas();
      if (lx.Done()) break;
      size_t mark = lx.pos();
      std::string_view name = lx.Token();
      lx.SkipSpace();
      if (name.empty()) {  // a stray '=' or quoted string: drop it
        if (lx.Peek() == '"') {
          lx.Quoted();
        } else {
          lx.Skip();
        }
        continue;
      }
      if (lx.Peek() != '=') {  // a bare token: the next challenge's scheme
        lx.Rewind(mark);
        break;
      }
      lx.Skip();
      lx.SkipSpace();
      std::string value = lx.Peek() == '"' ? lx.Quoted() : std::string(lx.Token());
      // token68 values end in '=' padding; swallow it.
      while (lx.Peek() == '=') {
        value += '=';
        lx.Skip();
      }
      ch.params[Lower(name)] = std::move(value);
    }
    out.push_back(std::move(ch));
  }
  return out;
}

base::Result<Token> ParseTokenResponse(std::string_view body) {
  using nlohmann::json;
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return base::Fail(base::Error::InvalidArgument("token server answer is not a JSON object"));
  }
  Token t;
  for (const char* key : {"token", "access_token"}) {
    auto it = doc.find(key);
    if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.token = it->get<std::string>();
      break;
    }
  }
  if (t.token.empty()) {
    return base::Fail(base::Error::InvalidArgument("token server answer holds no token"));
  }
  auto exp = doc.find("expires_in");
  if (exp != doc.end() && exp->is_number_integer() && exp->get<int64_t>() > 0) {
    t.expires_in_s = exp->get<int64_t>();
  }
  return t;
}

std::string RepositoryScope(std::string_view path, std::string_view actions) {
  return "repository:" + std::string(path) + ":" + std::string(actions);
}

std::vector<std::string> MergeScopes(const std::vector<std::string>& scopes) {
  // resource ("repository:a/b") -> actions; the resource type and name never hold ':' beyond
  // the first one, except for a registry host with a port, so split at the last colon.
  std::map<std::string, std::set<std::string>> by_resource;
  for (const std::string& entry : scopes) {
    for (const std::string& scope : base::SplitNonEmpty(entry, ' ')) {
      size_t colon = scope.rfind(':');
      if (colon == std::string::npos || colon == 0) {
        by_resource[scope];
        continue;
      }
      auto& actions = by_resource[scope.substr(0, colon)];
      for (const std::string& a : base::SplitNonEmpty(scope.substr(colon + 1), ',')) {
        actions.insert(a);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& [resource, actions] : by_resource) {
    if (actions.empty()) {
      out.push_back(resource);
      continue;
    }
    std::vector<std::string> list(actions.begin(), actions.end());
    out.push_back(resource + ":" + base::Join(list, ","));
  }
  return out;
}

}  // namespace berth::registry
