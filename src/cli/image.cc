// The image commands: pull, push, images, rmi, tag, history, image inspect, save, load, import,
// login and logout, with docker's output layouts and exit codes (1 for a failed command).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "api/version.h"
#include "base/strings.h"
#include "cli/cli.h"
#include "cli/format.h"
#include "oci/reference.h"
#include "registry/credentials.h"

namespace berth::cli {
namespace {

using nlohmann::json;

std::string V(std::string_view path) {
  return "/v" + std::string(api::kApiVersion) + std::string(path);
}

int Fail(const client::Client& client, const base::Error& error, std::FILE* err) {
  ReportDaemonError(client, error, err);
  return kExitImageError;
}

std::string ShortId(const std::string& id) {
  std::string hex = base::StartsWith(id, "sha256:") ? id.substr(7) : id;
  return hex.substr(0, 12);
}

std::string ConfigPath() { return registry::DockerConfigCredentials::DefaultDockerConfigPath(); }

// X-Registry-Auth for a pull from `domain`, from the login the CLI stored; "e30=" ({}) when
// none, as the docker CLI sends.
std::string RegistryAuthHeader(const std::string& domain) {
  registry::DockerConfigCredentials store({ConfigPath()});
  auto c = store.Get(domain);
  if (!c || !*c) return "e30=";
  json j = {{"username", (*c)->username}, {"password", (*c)->password}, {"serveraddress", domain}};
  std::string b64 = registry::Base64Encode(j.dump());
  for (char& ch : b64) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return b64;
}

// Renders Docker's JSON message stream: per-id lines redrawn in place with ANSI on a terminal,
// status changes only otherwise. Returns the error message of an errorDetail, if any.
class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* out, bool tty) : out_(out), tty_(tty) {}

  bool Feed(std::string_view data) {
    pending_.append(data);
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (!base::Trim(line).empty()) Handle(json::parse(line, nullptr, false));
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  void Handle(const json& m) {
    if (!m.is_object()) return;
    if (m.contains("errorDetail") || m.contains("error")) {
      error_ =
          m.contains("errorDetail") ? m["errorDetail"].value("message", "") : m.value("error", "");
      return;
    }
    // Push results for content trust; docker's CLI prints nothing for them either.
    if (m.contains("aux")) return;
    if (m.contains("stream")) {
      fmt::print(out_, "{}", m.value("stream", ""));
      std::fflush(out_);
      return;
    }
    std::string id = m.value("id", ""), status = m.value("status", "");
    std::string progress = m.value("progress", "");
    if (id.empty()) {
      fmt::print(out_, "{}\n", status);
    } else if (!tty_) {
      if (status == "Downloading" || status == "Extracting" || status == "Pushing") return;
      fmt::print(out_, "{}: {}\n", id, status);
    } else {
      auto it = std::find(ids_.begin(), ids_.end(), id);
      std::string text = fmt::format("{}: {} {}", id, status, progress);
      if (it == ids_.end()) {
        ids_.push_back(id);
        fmt::print(out_, "{}\n", text);
      } else {
        size_t up = ids_.end() - it;
        // Up to the id's line, clear it, rewrite, and back down (docker's jsonmessage does
        // the same with cursor movements).
        fmt::print(out_, "\x1b[{}A\x1b[2K\r{}\x1b[{}B\r", up, text, up);
      }
    }
    std::fflush(out_);
  }

  std::FILE* out_;
  bool tty_;
  std::string pending_, error_;
  std::vector<std::string> ids_;
};

int StreamJson(client::Client& client, const std::string& method, const std::string& target,
               std::string_view body, std::string_view content_type,
               const std::vector<std::pair<std::string, std::string>>& headers, std::FILE* out,
               std::FILE* err) {
  ProgressPrinter printer(out, isatty(fileno(out)));
  auto r = client.Stream(method, target, body, content_type, headers,
                         [&](std::string_view d) { return printer.Feed(d); });
  if (!r) return Fail(client, r.error(), err);
  if (r->status < 200 || r->status > 299) return Fail(client, client::ErrorFromResponse(*r), err);
  if (!printer.error().empty()) {
    fmt::print(err, "{}\n", printer.error());
    return kExitImageError;
  }
  return 0;
}

base::Result<std::string> ReadInput(const std::string& path) {
  int fd = 0;
  if (!path.empty() && path != "-") {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return base::Fail(base::Error::FromErrno(errno, "open " + path));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      if (fd != 0) close(fd);
      return base::Fail(base::Error::FromErrno(e, "read " + path));
    }
    if (n == 0) break;
    data.append(buf, size_t(n));
  }
  if (fd != 0) close(fd);
  return data;
}

}  // namespace

int PullImage(client::Client& client, const std::string& text, const std::string& platform,
              std::FILE* progress, std::FILE* err) {
  auto ref = oci::ParseReference(text);
  if (!ref) {
    fmt::print(err, "{}\n", ref.error().message());
    return kExitImageError;
  }
  std::string target = V("/images/create?fromImage=") + client::QueryEscape(ref->Name());
  target += "&tag=" + client::QueryEscape(ref->digest ? ref->digest->ToString() : ref->tag);
  if (!platform.empty()) target += "&platform=" + client::QueryEscape(platform);
  return StreamJson(client, "POST", target, "", "text/plain",
                    {{"X-Registry-Auth", RegistryAuthHeader(ref->domain)}}, progress, err);
}

int RunPull(client::Client& client, const std::string& text, const std::string& platform,
            std::FILE* out, std::FILE* err) {
  int rc = PullImage(client, text, platform, out, err);
  auto ref = oci::ParseReference(text);
  if (rc == 0 && ref) {
    oci::ImageReference shown = *ref;
    if (shown.digest) shown.tag.clear();
    fmt::print(out, "{}\n", shown.String());
  }
  return rc;
}

int RunPush(client::Client& client, const std::string& text, bool all_tags, bool quiet,
            std::FILE* out, std::FILE* err) {
  auto ref = oci::ParseNamedReference(text);
  if (!ref) {
    fmt::print(err, "{}\n", ref.error().message());
    return kExitImageError;
  }
  if (ref->digest) {
    fmt::print(err, "cannot push a digest reference\n");
    return kExitImageError;
  }
  if (all_tags && !ref->tag.empty()) {
    fmt::print(err, "tag can't be used with --all-tags/-a\n");
    return kExitImageError;
  }
  if (!all_tags && ref->tag.empty()) {
    ref->tag = oci::kDefaultTag;
    if (!quiet) fmt::print(out, "Using default tag: {}\n", ref->tag);
  }
  std::string target = V("/images/") + ref->FamiliarName() + "/push";
  if (!ref->tag.empty()) target += "?tag=" + client::QueryEscape(ref->tag);
  std::FILE* progress = out;
  if (quiet) progress = std::fopen("/dev/null", "we");
  if (!progress) progress = out;
  int rc = StreamJson(client, "POST", target, "", "text/plain",
                      {{"X-Registry-Auth", RegistryAuthHeader(ref->domain)}}, progress, err);
  if (progress != out) std::fclose(progress);
  if (rc == 0 && quiet) fmt::print(out, "{}\n", ref->String());
  return rc;
}

int RunImages(client::Client& client, bool all, bool quiet, bool digests, std::FILE* out,
              std::FILE* err) {
  auto body = client.GetJson(V("/images/json") + (all ? "?all=1" : ""));
  if (!body) return Fail(client, body.error(), err);
  json images = json::parse(*body, nullptr, false);
  if (!images.is_array()) return Fail(client, base::Error::Internal("bad /images/json"), err);
  if (quiet) {
    std::set<std::string> seen;
    for (const auto& i : images) {
      std::string id = ShortId(i.value("Id", ""));
      if (seen.insert(id).second) fmt::print(out, "{}\n", id);
    }
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  if (digests)
    rows.push_back({"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"});
  else
    rows.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  for (const auto& i : images) {
    std::vector<std::string> tags, repo_digests;
    for (const auto& t : i.value("RepoTags", json::array()))
      if (t.is_string() && t != "<none>:<none>") tags.push_back(t);
    for (const auto& d : i.value("RepoDigests", json::array()))
      if (d.is_string() && d != "<none>@<none>") repo_digests.push_back(d);
    auto digest_of = [&](const std::string& repo) -> std::string {
      for (const auto& d : repo_digests)
        if (d.substr(0, d.find('@')) == repo) return d.substr(d.find('@') + 1);
      return "<none>";
    };
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& t : tags) {
      size_t colon = t.rfind(':');
      names.emplace_back(t.substr(0, colon), t.substr(colon + 1));
    }
    if (names.empty() && !repo_digests.empty())
      names.emplace_back(repo_digests[0].substr(0, repo_digests[0].find('@')), "<none>");
    if (names.empty()) names.emplace_back("<none>", "<none>");
    std::string id = ShortId(i.value("Id", ""));
    std::string created = Ago(i.value("Created", int64_t(0)));
    std::string size = HumanSize(i.value("Size", int64_t(0)));
    for (const auto& [repo, tag] : names) {
      if (digests)
        rows.push_back({repo, tag, digest_of(repo), id, created, size});
      else
        rows.push_back({repo, tag, id, created, size});
    }
  }
  PrintTable(out, rows);
  return 0;
}

int RunRmi(client::Client& client, const std::vector<std::string>& refs, bool force, bool no_prune,
           std::FILE* out, std::FILE* err) {
  int rc = 0;
  for (const auto& ref : refs) {
    std::string target =
        V("/images/") + ref + "?force=" + (force ? "1" : "0") + (no_prune ? "&noprune=1" : "");
    auto r = client.Do("DELETE", target);
    if (r && r->status >= 200 && r->status <= 299) {
      json items = json::parse(r->body, nullptr, false);
      for (const auto& i : items.is_array() ? items : json::array()) {
        if (i.contains("Untagged")) fmt::print(out, "Untagged: {}\n", i.value("Untagged", ""));
        if (i.contains("Deleted")) fmt::print(out, "Deleted: {}\n", i.value("Deleted", ""));
      }
      continue;
    }
    rc = Fail(client, r ? client::ErrorFromResponse(*r) : r.error(), err);
  }
  return rc;
}

int RunTag(client::Client& client, const std::string& source, const std::string& target_text,
           std::FILE* err) {
  auto ref = oci::ParseReference(target_text);
  if (!ref || ref->digest) {
    fmt::print(err, "Error parsing reference: \"{}\" is not a valid repository/tag: {}\n",
               target_text, ref ? "refusing to create a tag with a digest" : ref.error().message());
    return kExitImageError;
  }
  auto r = client.Post(V("/images/") + source + "/tag?repo=" + client::QueryEscape(ref->Name()) +
                           "&tag=" + client::QueryEscape(ref->tag),
                       "", "");
  if (!r) return Fail(client, r.error(), err);
  if (r->status < 200 || r->status > 299) return Fail(client, client::ErrorFromResponse(*r), err);
  return 0;
}

int RunHistory(client::Client& client, const std::string& ref, bool quiet, std::FILE* out,
               std::FILE* err) {
  auto body = client.GetJson(V("/images/") + ref + "/history");
  if (!body) return Fail(client, body.error(), err);
  json items = json::parse(*body, nullptr, false);
  std::vector<std::vector<std::string>> rows = {
      {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}};
  for (const auto& h : items.is_array() ? items : json::array()) {
    std::string id = h.value("Id", "");
    if (id != "<missing>") id = ShortId(id);
    if (quiet) {
      fmt::print(out, "{}\n", id);
      continue;
    }
    std::string by = h.value("CreatedBy", "");
    // docker: strings truncated to 45 runes with an ellipsis.
    if (by.size() > 45) by = by.substr(0, 44) + "…";
    rows.push_back({id, Ago(h.value("Created", int64_t(0))), by,
                    HumanSize(h.value("Size", int64_t(0))), h.value("Comment", "")});
  }
  if (!quiet) PrintTable(out, rows);
  return 0;
}

int RunImageInspect(client::Client& client, const std::vector<std::string>& refs, std::FILE* out,
                    std::FILE* err) {
  json all = json::array();
  int rc = 0;
  for (const auto& ref : refs) {
    auto body = client.GetJson(V("/images/") + ref + "/json");
    if (!body) {
      rc = kExitImageError;
      if (body.error().code() == base::ErrorCode::kNotFound)
        fmt::print(err, "Error: No such image: {}\n", ref);
      else
        ReportDaemonError(client, body.error(), err);
      continue;
    }
    all.push_back(json::parse(*body, nullptr, false));
  }
  fmt::print(out, "{}\n", all.dump(4));
  return rc;
}

int RunSave(client::Client& client, const std::vector<std::string>& refs, const std::string& output,
            std::FILE* err) {
  int fd = 1;
  if (!output.empty()) {
    fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      fmt::print(err, "failed to save image: open {}: {}\n", output, strerror(errno));
      return kExitImageError;
    }
  } else if (isatty(1)) {
    fmt::print(err, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return kExitImageError;
  }
  std::string target = V("/images/get?");
  for (size_t i = 0; i < refs.size(); ++i)
    target += (i ? "&names=" : "names=") + client::QueryEscape(refs[i]);
  bool write_ok = true;
  auto r = client.Stream("GET", target, "", "", {}, [&](std::string_view d) {
    while (!d.empty()) {
      ssize_t n = write(fd, d.data(), d.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return write_ok = false;
      d.remove_prefix(size_t(n));
    }
    return true;
  });
  if (fd != 1) close(fd);
  if (!r || r->status < 200 || r->status > 299) {
    if (!output.empty()) unlink(output.c_str());
    return Fail(client, r ? client::ErrorFromResponse(*r) : r.error(), err);
  }
  return 0;
}

int RunLoad(client::Client& client, const std::string& input, bool quiet, std::FILE* out,
            std::FILE* err) {
  if (input.empty() && isatty(0)) {
    fmt::print(err, "requested load from stdin, but stdin is empty\n");
    return kExitImageError;
  }
  auto data = ReadInput(input);
  if (!data) {
    fmt::print(err, "{}\n", data.error().message());
    return kExitImageError;
  }
  return StreamJson(client, "POST", V("/images/load?quiet=") + (quiet ? "1" : "0"), *data,
                    "application/x-tar", {}, out, err);
}

int RunImport(client::Client& client, const std::string& file, const std::string& ref,
              const std::vector<std::string>& changes, const std::string& message, std::FILE* out,
              std::FILE* err) {
  auto data = ReadInput(file);
  if (!data) {
    fmt::print(err, "{}\n", data.error().message());
    return kExitImageError;
  }
  std::string target = V("/images/create?fromSrc=-");
  if (!ref.empty()) target += "&repo=" + client::QueryEscape(ref);
  if (!message.empty()) target += "&message=" + client::QueryEscape(message);
  for (const auto& c : changes) target += "&changes=" + client::QueryEscape(c);
  auto r = client.Post(target, *data, "text/plain");
  if (!r) return Fail(client, r.error(), err);
  if (r->status < 200 || r->status > 299) return Fail(client, client::ErrorFromResponse(*r), err);
  for (const auto& line : base::Split(r->body, '\n')) {
    json m = json::parse(line, nullptr, false);
    if (m.is_object() && m.contains("status")) fmt::print(out, "{}\n", m.value("status", ""));
  }
  return 0;
}

int RunLogin(client::Client& client, std::string server, std::string user, std::string password,
             bool password_stdin, std::FILE* out, std::FILE* err) {
  if (password_stdin) {
    std::getline(std::cin, password);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
      password.pop_back();
  }
  if (user.empty() || password.empty()) {
    fmt::print(err, "Error: Cannot perform an interactive login from a non TTY device\n");
    return kExitImageError;
  }
  if (server.empty()) server = "https://index.docker.io/v1/";
  json body = {{"username", user}, {"password", password}, {"serveraddress", server}};
  auto r = client.Post(V("/auth"), body.dump());
  if (!r) return Fail(client, r.error(), err);
  if (r->status < 200 || r->status > 299) return Fail(client, client::ErrorFromResponse(*r), err);
  std::string domain = registry::NormalizeAuthKey(server);
  auto st = registry::DockerConfigCredentials::Store(ConfigPath(), domain,
                                                     registry::Credentials{user, password});
  if (!st) {
    fmt::print(err, "Error saving credentials: {}\n", st.error().message());
    return kExitImageError;
  }
  fmt::print(out, "Login Succeeded\n");
  return 0;
}

int RunLogout(std::string server, std::FILE* out, std::FILE* err) {
  if (server.empty()) server = "https://index.docker.io/v1/";
  std::string domain = registry::NormalizeAuthKey(server);
  fmt::print(out, "Removing login credentials for {}\n", domain);
  auto st = registry::DockerConfigCredentials::Store(ConfigPath(), domain, std::nullopt);
  if (!st) {
    fmt::print(err, "Error: {}\n", st.error().message());
    return kExitImageError;
  }
  return 0;
}

}  // namespace berth::cli
