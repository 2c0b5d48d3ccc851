// Image reference parsing and normalisation, following Docker's distribution/reference grammar
// (regexp.go, normalize.go) with a hand-written matcher: std::regex backtracks recursively and
// can overflow the stack on long inputs, and references come from untrusted API requests.
#include "oci/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>

namespace berth::oci {
namespace {

using base::Error;
using base::Fail;
using base::Result;

constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
// distribution/reference limits the path (not domain + path) since v0.5.0.
constexpr size_t kPathMax = 255;
constexpr size_t kTagMax = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

// pathComponent: [a-z0-9]+ (?:(?:[._]|__|[-]+)[a-z0-9]+)*
bool IsPathComponent(std::string_view s) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    if (i == run) return false;
    if (i == s.size()) return true;
    size_t sep = i;
    while (i < s.size() && !IsLowerAlnum(s[i])) ++i;
    std::string_view separator = s.substr(sep, i - sep);
    bool dashes = std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
    if (!(separator == "." || separator == "_" || separator == "__" || dashes)) return false;
  }
}

// remoteName: pathComponent (?:/pathComponent)*
bool IsRemoteName(std::string_view s) {
  while (true) {
    size_t slash = s.find('/');
    if (!IsPathComponent(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domainNameComponent: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsDomainNameComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// domainAndPort: (?:domainName|\[[a-fA-F0-9:]+\]) (?::[0-9]+)?
bool IsDomainAndPort(std::string_view s) {
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view inside = s.substr(1, close - 1);
    if (!std::all_of(inside.begin(), inside.end(), [](char c) { return IsHex(c) || c == ':'; }))
      return false;
    port = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    std::string_view host = s.substr(0, colon);
    while (true) {
      size_t dot = host.find('.');
      if (!IsDomainNameComponent(host.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      host.remove_prefix(dot + 1);
    }
    port = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
  }
  if (port.empty()) return true;
  if (port.front() != ':' || port.size() < 2) return false;
  return std::all_of(port.begin() + 1, port.end(), IsDigit);
}

// tag: [\w][\w.-]{0,127}
bool IsTag(std::string_view s) {
  if (s.empty() || s.size() > kTagMax || !IsWord(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsWord(c) || c == '.' || c == '-'; });
}

// digest: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}
bool IsDigestSyntax(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algorithm = s.substr(0, colon);
  std::string_view hex = s.substr(colon + 1);
  if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), IsHex)) return false;
  bool component_start = true;
  for (char c : algorithm) {
    if (component_start) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
      component_start = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      component_start = true;
    } else if (!IsAlnum(c)) {
      return false;
    }
  }
  return !component_start;
}

struct Match {
  std::string_view domain;  // empty when the regexp took the whole name as a path
  std::string_view path;
  std::string_view tag;
  std::string_view digest;
};

// remoteName (?::tag)? (?:@digest)?: names and tags hold neither ':' nor '@', so the first '@'
// starts the digest and the first ':' before it starts the tag.
bool MatchRemainder(std::string_view s, Match* m) {
  size_t at = s.find('@');
  if (at != std::string_view::npos) {
    m->digest = s.substr(at + 1);
    if (!IsDigestSyntax(m->digest)) return false;
    s = s.substr(0, at);
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    m->tag = s.substr(colon + 1);
    if (!IsTag(m->tag)) return false;
    s = s.substr(0, colon);
  }
  m->path = s;
  return IsRemoteName(s);
}

// ReferenceRegexp, anchored. The optional domain is tried first, as in RE2's leftmost-first
// matching; a domain cannot hold '/', so it can only be the text before the first '/'.
bool MatchReference(std::string_view s, Match* m) {
  size_t slash = s.find('/');
  if (slash != std::string_view::npos && IsDomainAndPort(s.substr(0, slash))) {
    Match with_domain;
    if (MatchRemainder(s.substr(slash + 1), &with_domain)) {
      *m = with_domain;
      m->domain = s.substr(0, slash);
      return true;
    }
  }
  *m = Match();
  return MatchRemainder(s, m);
}

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Error InvalidFormat(std::string_view detail = {}) {
  if (detail.empty()) return Error::InvalidArgument("invalid reference format");
  return Error::InvalidArgument(fmt::format("invalid reference format: {}", detail));
}

// normalize.go splitDockerDomain: the first component is a domain when it looks like a host
// (has '.' or ':', is "localhost", or has uppercase, which a path component cannot have).
std::pair<std::string, std::string> SplitDockerDomain(std::string_view name) {
  std::string domain;
  std::string remainder;
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    return {kDefaultDomain, std::string(kOfficialRepoPrefix) + std::string(name)};
  }
  std::string_view first = name.substr(0, slash);
  if (first == kLegacyDefaultDomain) {
    domain = kDefaultDomain;
    remainder = name.substr(slash + 1);
  } else if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos ||
             HasUpper(first)) {
    domain = first;
    remainder = name.substr(slash + 1);
  } else {
    domain = kDefaultDomain;
    remainder = name;
  }
  if (domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
    remainder.insert(0, kOfficialRepoPrefix);
  }
  return {domain, remainder};
}

bool IsHexIdentifier(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(),
                                       [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string ImageReference::String() const {
  std::string out = Name();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->ToString();
  return out;
}

std::string ImageReference::FamiliarName() const {
  if (domain != kDefaultDomain) return Name();
  std::string_view p = path;
  if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
      p.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
    p.remove_prefix(kOfficialRepoPrefix.size());
  }
  return std::string(p);
}

std::string ImageReference::FamiliarString() const {
  std::string out = FamiliarName();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->ToString();
  return out;
}

Result<ImageReference> ParseNamedReference(std::string_view text) {
  if (IsHexIdentifier(text)) {
    return Fail(Error::InvalidArgument(fmt::format(
        "invalid repository name ({}), cannot specify 64-byte hexadecimal strings", text)));
  }
  auto [domain, remainder] = SplitDockerDomain(text);
  std::string_view remote = std::string_view(remainder).substr(0, remainder.find(':'));
  if (HasUpper(remote)) return Fail(InvalidFormat("repository name must be lowercase"));

  std::string full = domain + "/" + remainder;
  Match m;
  if (!MatchReference(full, &m)) {
    std::string lower = Lower(full);
    if (lower != full && MatchReference(lower, &m)) {
      return Fail(InvalidFormat("repository name must be lowercase"));
    }
    return Fail(InvalidFormat());
  }
  // Go would return a reference without a domain here ("a_b.c/d" is a valid path); nothing
  // could pull it, so refuse it up front.
  if (m.domain != domain) return Fail(InvalidFormat());
  if (m.path.size() > kPathMax) {
    return Fail(InvalidFormat(
        fmt::format("repository name must not be more than {} characters", kPathMax)));
  }
  ImageReference ref;
  ref.domain = std::string(m.domain);
  ref.path = std::string(m.path);
  ref.tag = std::string(m.tag);
  if (!m.digest.empty()) {
    auto d = Digest::Parse(m.digest);
    if (!d) return Fail(InvalidFormat(d.error().message()));
    ref.digest = std::move(*d);
  }
  return ref;
}

Result<ImageReference> ParseReference(std::string_view text) {
  ImageReference ref = TRY(ParseNamedReference(text));
  if (ref.tag.empty() && !ref.digest) ref.tag = kDefaultTag;
  return ref;
}

std::string RegistryHost(const std::string& domain) {
  if (domain == kDefaultDomain) return "registry-1.docker.io";
  return domain;
}

}  // namespace berth::oci
