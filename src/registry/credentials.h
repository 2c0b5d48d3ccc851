// Registry credentials: the CredentialStore interface the client asks, and an implementation
// over Docker-format config files (~/.docker/config.json "auths", and berth's own file in the
// same format).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::registry {

struct Credentials {
  std::string username;
  std::string password;
  bool operator==(const Credentials&) const = default;
};

// Looks credentials up by reference domain ("docker.io", "localhost:5000"). Implementations
// must be safe to call from several threads.
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // nullopt when there are none for the domain; an error only when the store is unreadable.
  virtual base::Result<std::optional<Credentials>> Get(std::string_view domain) const = 0;
};

// Credentials from Docker-format JSON files:
//   {"auths": {"https://index.docker.io/v1/": {"auth": "<base64 user:pass>"},
//              "localhost:5000": {"username": "u", "password": "p"}}}
// Keys may carry a scheme and a path; "docker.io" matches Docker Hub's historical keys.
// credsStore/credHelpers (external helper programs) are not supported and are ignored.
class DockerConfigCredentials : public CredentialStore {
 public:
  // Files are read on every Get, in order; the first with an entry wins. Missing files are
  // skipped; unparsable ones are an InvalidArgument error naming the file.
  explicit DockerConfigCredentials(std::vector<std::string> paths);
  // $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
  static std::string DefaultDockerConfigPath();

  base::Result<std::optional<Credentials>> Get(std::string_view domain) const override;

  // Writes (or with nullopt removes) the entry for `domain` in `path`, keeping the file's other
  // keys; the file is replaced atomically with mode 0600.
  static base::Status Store(const std::string& path, std::string_view domain,
                            const std::optional<Credentials>& credentials);

 private:
  std::vector<std::string> paths_;
};

// A fixed set of credentials (tests, `--username/--password` on the command line).
class StaticCredentials : public CredentialStore {
 public:
  void Add(std::string domain, Credentials credentials);
  base::Result<std::optional<Credentials>> Get(std::string_view domain) const override;

 private:
  std::vector<std::pair<std::string, Credentials>> entries_;
};

// Standard base64 (RFC 4648 with padding). Decode accepts missing padding; nullopt on junk.
std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

// The domain an auths key names: "https://index.docker.io/v1/" -> "docker.io",
// "http://host:5000/v2/" -> "host:5000".
std::string NormalizeAuthKey(std::string_view key);

}  // namespace berth::registry
