// Pure pieces of registry authentication (distribution's token.md): parsing WWW-Authenticate
// challenges, token-server answers, and access scopes. No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::registry {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercased: realm, service, scope, error
  std::string Param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// Parses one or more challenges from a WWW-Authenticate value (RFC 7235):
//   Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull,push"
//   Basic realm="Registry Realm"
// Quoted values may hold commas and backslash escapes. Junk yields fewer (or no) challenges,
// never an error.
std::vector<Challenge> ParseChallenges(std::string_view header);

struct Token {
  std::string token;
  int64_t expires_in_s = 60;  // the spec's default when the server omits it
};

// A token server's JSON answer: "token" or "access_token" (OAuth2 form), "expires_in".
// InvalidArgument when neither token field is a non-empty string.
base::Result<Token> ParseTokenResponse(std::string_view body);

// "repository:<path>:<actions>", e.g. RepositoryScope("library/busybox", "pull,push").
std::string RepositoryScope(std::string_view path, std::string_view actions);

// Merges scope lists (each entry may hold several space-separated scopes) into a sorted,
// de-duplicated list; the actions of one resource are merged ("a:pull" + "a:push" ->
// "a:pull,push").
std::vector<std::string> MergeScopes(const std::vector<std::string>& scopes);

}  // namespace berth::registry
