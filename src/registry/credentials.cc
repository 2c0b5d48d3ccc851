// DockerConfigCredentials and base64.
#include "registry/credentials.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"

namespace berth::registry {
namespace {

using base::Error;
using base::Fail;
using base::Result;
using nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool IsDockerHub(std::string_view domain) {
  return domain == "docker.io" || domain == "index.docker.io" || domain == "registry-1.docker.io" ||
         domain == "registry.hub.docker.com";
}

// Reads a whole file; nullopt when it does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return Fail(Error::FromErrno(errno, "open \"" + path + "\""));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>(ss.str());
}

std::optional<Credentials> FromEntry(const json& entry) {
  if (!entry.is_object()) return std::nullopt;
  auto str = [&](const char* key) -> std::string {
    auto it = entry.find(key);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string auth = str("auth");
  if (!auth.empty()) {
    std::optional<std::string> decoded = Base64Decode(auth);
    if (!decoded) return std::nullopt;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  std::string user = str("username");
  if (user.empty()) return std::nullopt;
  return Credentials{user, str("password")};
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = c ? std::strchr(kAlphabet, c) : nullptr;
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string NormalizeAuthKey(std::string_view key) {
  size_t scheme = key.find("://");
  if (scheme != std::string_view::npos) key = key.substr(scheme + 3);
  key = key.substr(0, key.find('/'));
  return IsDockerHub(key) ? "docker.io" : std::string(key);
}

DockerConfigCredentials::DockerConfigCredentials(std::vector<std::string> paths)
    : paths_(std::move(paths)) {}

std::string DockerConfigCredentials::DefaultDockerConfigPath() {
  if (const char* dir = getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  const char* home = getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.docker/config.json";
}

Result<std::optional<Credentials>> DockerConfigCredentials::Get(std::string_view domain) const {
  std::string want = NormalizeAuthKey(domain);
  for (const std::string& path : paths_) {
    std::optional<std::string> text = TRY(ReadFile(path));
    if (!text) continue;
    json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Fail(Error::InvalidArgument("parse \"" + path + "\": not a JSON object"));
    }
    auto auths = doc.find("auths");
    if (auths == doc.end() || !auths->is_object()) continue;
    for (auto it = auths->begin(); it != auths->end(); ++it) {
      if (NormalizeAuthKey(it.key()) != want) continue;
      if (std::optional<Credentials> c = FromEntry(it.value())) return c;
    }
  }
  return std::optional<Credentials>();
}

base::Status DockerConfigCredentials::Store(const std::string& path, std::string_view domain,
                                            const std::optional<Credentials>& credentials) {
  std::optional<std::string> text = TRY(ReadFile(path));
  json doc = json::object();
  if (text && !base::Trim(*text).empty()) {
    doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Fail(Error::InvalidArgument("parse \"" + path + "\": not a JSON object"));
    }
  }
  if (!doc.contains("auths") || !doc["auths"].is_object()) doc["auths"] = json::object();
  json& auths = doc["auths"];
  std::string want = NormalizeAuthKey(domain);
  for (auto it = auths.begin(); it != auths.end();) {
    if (NormalizeAuthKey(it.key()) == want) {
      it = auths.erase(it);
    } else {
      ++it;
    }
  }
  if (credentials) {
    // Docker Hub's key is historical; every other registry is keyed by its domain.
    std::string key = want == "docker.io" ? "https://index.docker.io/v1/" : want;
    auths[key] = {{"auth", Base64Encode(credentials->username + ":" + credentials->password)}};
  }
  std::string out = doc.dump(1, '\t') + "\n";
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(Error::FromErrno(errno, "create \"" + tmp + "\""));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return Fail(Error::FromErrno(err, "write \"" + tmp + "\""));
    }
    done += size_t(n);
  }
  int err = fsync(fd) == 0 ? 0 : errno;
  if (close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return Fail(Error::FromErrno(err, "write \"" + tmp + "\""));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Fail(Error::FromErrno(err, "rename \"" + tmp + "\" to \"" + path + "\""));
  }
  return {};
}

void StaticCredentials::Add(std::string domain, Credentials credentials) {
  entries_.emplace_back(NormalizeAuthKey(domain), std::move(credentials));
}

Result<std::optional<Credentials>> StaticCredentials::Get(std::string_view domain) const {
  std::string want = NormalizeAuthKey(domain);
  for (const auto& [d, c] : entries_) {
    if (d == want) return std::optional<Credentials>(c);
  }
  return std::optional<Credentials>();
}

}  // namespace berth::registry
