// Client: requests, the auth flow, retries, mirrors, and the pull/push operations.
#include "registry/client.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "registry/auth.h"
#include "registry/errors.h"
#include "registry/http.h"

namespace berth::registry {

using base::Error;
using base::ErrorCode;
using base::Fail;
using base::Result;
using base::Status;

namespace {

constexpr size_t kMaxManifestSize = 8 << 20;
constexpr size_t kMaxConfigSize = 8 << 20;
constexpr const char* kBadCredentials = "unauthorized: incorrect username or password";

std::string ManifestAccept() {
  return std::string("Accept: ") + oci::media::kOciIndex + ", " + oci::media::kOciManifest + ", " +
         oci::media::kDockerManifestList + ", " + oci::media::kDockerManifest;
}

std::string RepoUrl(const Endpoint& ep, const Repository& repo, std::string_view rest) {
  return ep.base_url + "/v2/" + repo.path + "/" + std::string(rest);
}

// "application/json; charset=utf-8" -> "application/json".
std::string MediaTypeOf(std::string_view content_type) {
  return std::string(base::Trim(content_type.substr(0, content_type.find(';'))));
}

bool Is2xx(int status) { return status >= 200 && status < 300; }

// The media type a GET answer carries, or what its body declares when the server sent a
// generic Content-Type.
std::string ManifestMediaType(const HttpResponse& resp) {
  std::string mt = MediaTypeOf(resp.Header("content-type").value_or(""));
  if (oci::IsIndexMediaType(mt) || oci::IsManifestMediaType(mt)) return mt;
  Result<std::string> declared = oci::DetectManifestMediaType(resp.body);
  if (declared && !declared->empty()) return *declared;
  // OCI lets documents omit mediaType; tell index from manifest by their members.
  nlohmann::json doc = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    if (doc.contains("manifests")) return oci::media::kOciIndex;
    if (doc.contains("layers")) return oci::media::kOciManifest;
  }
  return mt;
}

Status VerifyBytes(std::string_view bytes, const oci::Descriptor& desc, std::string_view what) {
  if (desc.size > 0 && int64_t(bytes.size()) != desc.size) {
    return Fail(Error::InvalidArgument(std::string(what) + " " + desc.digest.ToString() +
                                       ": size " + std::to_string(bytes.size()) + ", expected " +
                                       std::to_string(desc.size)));
  }
  if (desc.digest.algorithm() != "sha256") {
    return Fail(
        Error::InvalidArgument("unsupported digest algorithm \"" + desc.digest.algorithm() + "\""));
  }
  oci::Digest got = oci::Sha256Of(bytes);
  if (got != desc.digest) {
    return Fail(Error::InvalidArgument(std::string(what) + " digest mismatch: got " +
                                       got.ToString() + ", expected " + desc.digest.ToString()));
  }
  return {};
}

// "bytes 100-199/200" -> 100.
std::optional<int64_t> ContentRangeStart(std::string_view value) {
  if (!base::StartsWith(value, "bytes ")) return std::nullopt;
  value.remove_prefix(6);
  return base::ParseInt(value.substr(0, value.find('-')));
}

std::string WithQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace

struct Client::HostAuth {
  std::string scheme;  // "bearer" or "basic"
  std::string realm;
  std::string service;
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), http_(std::make_unique<HttpSession>(options_.user_agent)) {}

Client::~Client() = default;

Result<std::optional<Credentials>> Client::CredentialsFor(const Endpoint& ep) {
  if (auto it = login_.find(ep.domain); it != login_.end()) {
    return std::optional<Credentials>(it->second);
  }
  if (options_.credentials == nullptr) return std::optional<Credentials>();
  return options_.credentials->Get(ep.domain);
}

void Client::ApplyTls(const Endpoint& ep, HttpRequest& req) const {
  req.ca_file = ep.config.ca_file;
  req.client_cert = ep.config.client_cert;
  req.client_key = ep.config.client_key;
  req.connect_timeout_s = options_.connect_timeout_s;
  req.stall_timeout_s = options_.stall_timeout_s;
}

void Client::Backoff(int attempt, const HttpResponse* resp) const {
  auto delay = options_.initial_backoff * (int64_t(1) << std::min(attempt - 1, 20));
  if (resp != nullptr) {
    // Only the delta-seconds form; an HTTP-date falls back to our own backoff.
    if (auto after = resp->Header("retry-after")) {
      if (std::optional<int64_t> s = base::ParseInt(*after); s && *s >= 0) {
        delay = std::chrono::milliseconds(*s * 1000);
      }
    }
  }
  std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(delay, options_.max_backoff));
}

Result<std::optional<std::string>> Client::Authorization(const Endpoint& ep,
                                                         const std::vector<std::string>& scopes,
                                                         bool refresh,
                                                         const std::vector<std::string>* also_for) {
  auto ha = host_auth_.find(ep.host);
  if (ha == host_auth_.end()) return std::optional<std::string>();
  const HostAuth& auth = *ha->second;
  std::optional<Credentials> creds = TRY(CredentialsFor(ep));
  if (auth.scheme == "basic") {
    if (!creds) return std::optional<std::string>();
    return std::optional<std::string>("Basic " +
                                      Base64Encode(creds->username + ":" + creds->password));
  }

  std::vector<std::string> merged = MergeScopes(scopes);
  auto key_of = [&](const std::vector<std::string>& s) {
    return ep.host + " " + auth.realm + " " + auth.service + " " + base::Join(s, " ");
  };
  std::string key = key_of(merged);
  auto now = std::chrono::steady_clock::now();
  if (auto it = tokens_.find(key); !refresh && it != tokens_.end() && it->second.expires > now) {
    return std::optional<std::string>("Bearer " + it->second.token);
  }

  std::string url = auth.realm;
  if (!auth.service.empty()) url = WithQuery(url, "service=" + UrlEscape(auth.service));
  for (const std::string& s : merged) url = WithQuery(url, "scope=" + UrlEscape(s));
  HttpRequest req;
  req.url = url;
  std::string realm_host = UrlAuthority(auth.realm);
  HostConfig realm_config = options_.hosts->Lookup(realm_host);
  req.ca_file = realm_config.ca_file;
  req.connect_timeout_s = options_.connect_timeout_s;
  req.stall_timeout_s = options_.stall_timeout_s;
  if (creds) {
    req.headers.push_back("Authorization: Basic " +
                          Base64Encode(creds->username + ":" + creds->password));
  }
  HttpResponse resp = TRY_CTX(http_->Do(req), "fetch token");
  if ((resp.status == 401 || resp.status == 403) && creds) {
    return Fail(Error::PermissionDenied(kBadCredentials));
  }
  if (!Is2xx(resp.status)) {
    return Fail(ErrorFromResponse(resp.status, resp.body, "fetch token from " + auth.realm));
  }
  Token token = TRY_CTX(ParseTokenResponse(resp.body), "fetch token from " + auth.realm);
  // Renew a little early so a token does not expire between our check and the registry's.
  auto ttl = std::chrono::seconds(token.expires_in_s) * 9 / 10;
  tokens_[key] = CachedToken{token.token, now + ttl};
  if (also_for != nullptr) tokens_[key_of(MergeScopes(*also_for))] = tokens_[key];
  return std::optional<std::string>("Bearer " + token.token);
}

Result<HttpResponse> Client::SendOnce(const Endpoint& ep, HttpRequest& req,
                                      const std::vector<std::string>& scopes) {
  std::vector<std::string> base_headers = req.headers;
  std::optional<std::string> auth = TRY(Authorization(ep, scopes, /*refresh=*/false));
  if (auth) req.headers.push_back("Authorization: " + *auth);
  HttpResponse resp = TRY(http_->Do(req));
  if (resp.status != 401) return resp;

  std::vector<Challenge> challenges;
  for (const std::string& h : resp.AllHeaders("www-authenticate")) {
    for (Challenge& c : ParseChallenges(h)) challenges.push_back(std::move(c));
  }
  auto pick = [&](const char* scheme) -> const Challenge* {
    for (const Challenge& c : challenges) {
      if (c.scheme == scheme) return &c;
    }
    return nullptr;
  };
  const Challenge* ch = pick("bearer");
  if (ch == nullptr || ch->Param("realm").empty()) ch = pick("basic");
  if (ch == nullptr) return resp;
  // Basic credentials the registry just refused will not work a second time.
  if (ch->scheme == "basic" && auth && base::StartsWith(*auth, "Basic ")) return resp;

  auto& slot = host_auth_[ep.host];
  slot = std::make_unique<HostAuth>();
  slot->scheme = ch->scheme;
  slot->realm = ch->Param("realm");
  slot->service = ch->Param("service");
  std::vector<std::string> wanted = scopes;
  if (std::string s = ch->Param("scope"); !s.empty()) wanted.push_back(s);
  std::optional<std::string> retry_auth =
      TRY(Authorization(ep, wanted, /*refresh=*/true, /*also_for=*/&scopes));
  if (!retry_auth) return resp;
  req.headers = base_headers;
  req.headers.push_back("Authorization: " + *retry_auth);
  return http_->Do(req);
}

Result<HttpResponse> Client::Send(const Endpoint& ep, HttpRequest req,
                                  const std::vector<std::string>& scopes, bool retries) {
  ApplyTls(ep, req);
  int attempts = retries ? std::max(1, options_.max_attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    HttpRequest copy = req;
    Result<HttpResponse> r = SendOnce(ep, copy, scopes);
    if (!r) {
      if (r.error().code() == ErrorCode::kUnavailable && attempt < attempts) {
        base::LogDebug("registry: {}; retrying", r.error().message());
        Backoff(attempt, nullptr);
        continue;
      }
      return r;
    }
    if (IsRetryableStatus(r->status) && attempt < attempts) {
      base::LogDebug("registry: {} {}: HTTP {}; retrying", req.method, req.url, r->status);
      Backoff(attempt, &*r);
      continue;
    }
    return r;
  }
}

Status Client::Ping(std::string_view domain) {
  Endpoint ep = options_.hosts->Upstream(domain);
  HttpRequest req;
  req.url = ep.base_url + "/v2/";
  HttpResponse resp = TRY_CTX(Send(ep, req, {}, /*retries=*/true), "ping " + std::string(domain));
  if (!Is2xx(resp.status)) {
    return Fail(ErrorFromResponse(resp.status, resp.body, "ping " + std::string(domain)));
  }
  return {};
}

Status Client::Login(std::string_view domain, const std::string& user,
                     const std::string& password) {
  std::string d(domain);
  Endpoint ep = options_.hosts->Upstream(domain);
  // Forget how we authenticated before, so these credentials are the ones put to the test.
  host_auth_.erase(ep.host);
  std::erase_if(tokens_, [&](const auto& kv) { return base::StartsWith(kv.first, ep.host + " "); });
  login_[d] = Credentials{user, password};
  HttpRequest req;
  req.url = ep.base_url + "/v2/";
  Result<HttpResponse> resp = Send(ep, req, {}, /*retries=*/true);
  if (resp && Is2xx(resp->status)) return {};
  login_.erase(d);
  host_auth_.erase(ep.host);
  if (!resp) {
    if (resp.error().code() == ErrorCode::kPermissionDenied) {
      return Fail(Error::PermissionDenied(kBadCredentials));
    }
    return Fail(std::move(resp).error().Context("login to " + d));
  }
  if (resp->status == 401 || resp->status == 403) {
    return Fail(Error::PermissionDenied(kBadCredentials));
  }
  return Fail(ErrorFromResponse(resp->status, resp->body, "login to " + d));
}

Result<oci::Descriptor> Client::ResolveAt(const Endpoint& ep, const oci::ImageReference& ref) {
  std::string reference = ref.digest ? ref.digest->ToString() : ref.tag;
  if (reference.empty()) {
    return Fail(Error::InvalidArgument("reference " + ref.Name() + " has neither tag nor digest"));
  }
  Repository repo = Repository::Of(ref);
  std::vector<std::string> scopes = {RepositoryScope(ref.path, "pull")};
  HttpRequest req;
  req.method = "HEAD";
  req.url = RepoUrl(ep, repo, "manifests/" + reference);
  req.headers = {ManifestAccept()};
  HttpResponse head = TRY(Send(ep, req, scopes, /*retries=*/!ep.mirror));
  if (Is2xx(head.status)) {
    oci::Descriptor desc;
    desc.media_type = MediaTypeOf(head.Header("content-type").value_or(""));
    desc.size = base::ParseInt(head.Header("content-length").value_or("")).value_or(0);
    Result<oci::Digest> digest =
        oci::Digest::Parse(head.Header("docker-content-digest").value_or(""));
    bool known_type =
        oci::IsIndexMediaType(desc.media_type) || oci::IsManifestMediaType(desc.media_type);
    if (ref.digest) {
      // The digest we asked for is the one FetchManifest verifies the bytes against.
      if (digest && *digest != *ref.digest) {
        return Fail(Error::InvalidArgument("registry answered " + digest->ToString() + " for " +
                                           ref.String()));
      }
      desc.digest = *ref.digest;
      if (known_type && desc.size > 0) return desc;
    } else if (digest && known_type && desc.size > 0) {
      desc.digest = *digest;
      return desc;
    }
  }

  // HEAD told us too little (or failed; the GET answer carries the registry's error text).
  req.method = "GET";
  HttpResponse get = TRY(Send(ep, req, scopes, /*retries=*/!ep.mirror));
  if (!Is2xx(get.status)) {
    std::string what = get.status == 404 ? "manifest for " + ref.String() + " not found"
                                         : "resolve " + ref.String();
    return Fail(ErrorFromResponse(get.status, get.body, what));
  }
  if (get.body.size() > kMaxManifestSize) {
    return Fail(Error::InvalidArgument("manifest for " + ref.String() + " is larger than 8 MiB"));
  }
  oci::Descriptor desc;
  desc.media_type = ManifestMediaType(get);
  desc.size = int64_t(get.body.size());
  desc.digest = oci::Sha256Of(get.body);
  if (ref.digest) {
    if (ref.digest->algorithm() != "sha256") {
      return Fail(Error::InvalidArgument("unsupported digest algorithm \"" +
                                         ref.digest->algorithm() + "\""));
    }
    if (desc.digest != *ref.digest) {
      return Fail(Error::InvalidArgument("manifest for " + ref.String() + " has digest " +
                                         desc.digest.ToString()));
    }
  } else if (auto header = get.Header("docker-content-digest")) {
    Result<oci::Digest> claimed = oci::Digest::Parse(*header);
    if (claimed && claimed->algorithm() == "sha256" && *claimed != desc.digest) {
      return Fail(Error::InvalidArgument("registry claims digest " + claimed->ToString() +
                                         " for manifest " + ref.String() + " with digest " +
                                         desc.digest.ToString()));
    }
  }
  return desc;
}

Result<oci::Descriptor> Client::Resolve(const oci::ImageReference& ref) {
  Error last = Error::Unavailable("no endpoint for " + ref.domain);
  for (const Endpoint& ep : options_.hosts->ReadEndpoints(ref.domain)) {
    Result<oci::Descriptor> r = ResolveAt(ep, ref);
    if (r) return r;
    last = std::move(r).error();
    if (ep.mirror) base::LogInfo("registry: mirror {}: {}", ep.base_url, last.message());
  }
  return Fail(std::move(last));
}

Result<std::string> Client::FetchManifestAt(const Endpoint& ep, const Repository& repo,
                                            const oci::Descriptor& desc) {
  HttpRequest req;
  req.url = RepoUrl(ep, repo, "manifests/" + desc.digest.ToString());
  req.headers = {ManifestAccept()};
  std::string what = "fetch manifest " + repo.Name() + "@" + desc.digest.ToString();
  HttpResponse resp =
      TRY(Send(ep, req, {RepositoryScope(repo.path, "pull")}, /*retries=*/!ep.mirror));
  if (!Is2xx(resp.status)) return Fail(ErrorFromResponse(resp.status, resp.body, what));
  if (resp.body.size() > kMaxManifestSize) {
    return Fail(Error::InvalidArgument(what + ": larger than 8 MiB"));
  }
  TRY(VerifyBytes(resp.body, desc, "manifest"));
  return std::move(resp.body);
}

Result<std::string> Client::FetchManifest(const Repository& repo, const oci::Descriptor& desc) {
  if (desc.size > int64_t(kMaxManifestSize)) {
    return Fail(
        Error::InvalidArgument("manifest " + desc.digest.ToString() + " is larger than 8 MiB"));
  }
  Error last = Error::Unavailable("no endpoint for " + repo.domain);
  for (const Endpoint& ep : options_.hosts->ReadEndpoints(repo.domain)) {
    Result<std::string> r = FetchManifestAt(ep, repo, desc);
    if (r) return r;
    last = std::move(r).error();
    if (ep.mirror) base::LogInfo("registry: mirror {}: {}", ep.base_url, last.message());
  }
  return Fail(std::move(last));
}

Result<ResolvedImage> Client::ResolveImage(const oci::ImageReference& ref,
                                           const oci::Platform& platform) {
  Repository repo = Repository::Of(ref);
  ResolvedImage out;
  out.root = TRY(Resolve(ref));
  std::string bytes = TRY(FetchManifest(repo, out.root));
  if (oci::IsIndexMediaType(out.root.media_type)) {
    out.index = TRY_CTX(oci::ParseIndex(bytes), "index " + ref.String());
    out.index_bytes = std::move(bytes);
    out.manifest_descriptor = TRY(oci::SelectPlatform(*out.index, platform));
    if (!oci::IsManifestMediaType(out.manifest_descriptor.media_type)) {
      return Fail(Error::InvalidArgument(
          "index " + ref.String() + " entry " + out.manifest_descriptor.digest.ToString() +
          " has unsupported media type \"" + out.manifest_descriptor.media_type + "\""));
    }
    out.manifest_bytes = TRY(FetchManifest(repo, out.manifest_descriptor));
  } else if (oci::IsManifestMediaType(out.root.media_type)) {
    out.manifest_descriptor = out.root;
    out.manifest_bytes = std::move(bytes);
  } else {
    return Fail(Error::InvalidArgument("unsupported manifest media type \"" + out.root.media_type +
                                       "\" for " + ref.String()));
  }
  out.manifest = TRY_CTX(oci::ParseManifest(out.manifest_bytes), "manifest " + ref.String());
  if (out.manifest.config.size > int64_t(kMaxConfigSize)) {
    return Fail(
        Error::InvalidArgument("image config of " + ref.String() + " is larger than 8 MiB"));
  }
  StringSink config;
  TRY_CTX(FetchBlob(repo, out.manifest.config, config), "image config of " + ref.String());
  out.config_bytes = std::move(config.data());
  out.config = TRY_CTX(oci::ParseImageConfig(out.config_bytes), "image config of " + ref.String());
  return out;
}

Status Client::FetchBlob(const Repository& repo, const oci::Descriptor& desc, BlobSink& sink,
                         int64_t offset, const ProgressFn& progress) {
  const std::string what = "fetch blob " + repo.Name() + "@" + desc.digest.ToString();
  if (offset < 0 || (desc.size > 0 && offset > desc.size)) {
    return Fail(
        Error::InvalidArgument(what + ": offset " + std::to_string(offset) + " outside the blob"));
  }
  if (desc.digest.algorithm() != "sha256") {
    return Fail(Error::InvalidArgument(what + ": unsupported digest algorithm"));
  }
  // Nothing left to fetch; registries answer a Range at the very end inconsistently.
  if (desc.size > 0 && offset == desc.size) return {};
  int64_t written = offset;
  // Only bytes that all went through this call can be hashed here.
  bool verify = offset == 0;
  auto hash = std::make_unique<oci::Sha256>();
  auto restart = [&]() -> Status {
    TRY(sink.Restart());
    written = 0;
    verify = true;
    hash = std::make_unique<oci::Sha256>();
    return {};
  };
  const std::vector<std::string> scopes = {RepositoryScope(repo.path, "pull")};
  Error last = Error::Unavailable(what + ": no endpoint");

  std::vector<Endpoint> endpoints = options_.hosts->ReadEndpoints(repo.domain);
  for (const Endpoint& ep : endpoints) {
    int attempts = ep.mirror ? 1 : std::max(1, options_.max_attempts);
    for (int attempt = 1;; ++attempt) {
      const int64_t start = written;
      bool first = true;
      std::optional<Error> fatal;  // from the sink or a broken answer: never retried
      HttpRequest req;
      req.url = RepoUrl(ep, repo, "blobs/" + desc.digest.ToString());
      req.follow_redirects = true;
      if (written > 0) req.headers.push_back("Range: bytes=" + std::to_string(written) + "-");
      req.on_data = [&](const HttpResponse& head, std::string_view data) -> Status {
        if (first) {
          first = false;
          if (written > 0 && head.status == 200) {
            // The server ignored Range and sends the whole blob again.
            if (Status s = restart(); !s) {
              fatal = s.error();
              return s;
            }
          } else if (head.status == 206) {
            std::optional<int64_t> from =
                ContentRangeStart(head.Header("content-range").value_or(""));
            if (!from || *from != written) {
              fatal = Error::InvalidArgument(what + ": asked for bytes from " +
                                             std::to_string(written) + ", got Content-Range \"" +
                                             head.Header("content-range").value_or("") + "\"");
              return Fail(*fatal);
            }
          }
        }
        if (desc.size > 0 && written + int64_t(data.size()) > desc.size) {
          fatal = Error::InvalidArgument(what + ": more than the " + std::to_string(desc.size) +
                                         " bytes its descriptor gives");
          return Fail(*fatal);
        }
        if (Status s = sink.Write(data); !s) {
          fatal = s.error();
          return s;
        }
        if (verify) hash->Update(data);
        written += int64_t(data.size());
        if (progress) progress(written, desc.size > 0 ? desc.size : -1);
        return {};
      };
      Result<HttpResponse> r = Send(ep, req, scopes, /*retries=*/false);
      if (fatal) return Fail(std::move(*fatal));
      // A transfer that made progress resets the budget: a long download over a flaky link
      // keeps going as long as each attempt gets further.
      if (written > start) attempt = 1;
      if (!r) {
        last = std::move(r).error();
        if (last.code() == ErrorCode::kUnavailable && attempt < attempts) {
          base::LogDebug("registry: {}; resuming at byte {}", last.message(), written);
          Backoff(attempt, nullptr);
          continue;
        }
        break;
      }
      int status = r->status;
      if (status == 200 || status == 206) {
        if (desc.size > 0 && written < desc.size) {
          last = Error::Unavailable(what + ": answer ended at byte " + std::to_string(written) +
                                    " of " + std::to_string(desc.size));
          if (attempt < attempts) {
            Backoff(attempt, nullptr);
            continue;
          }
          break;
        }
        if (verify) {
          oci::Digest got = hash->Finish();
          if (got != desc.digest) {
            last = Error::InvalidArgument(what + ": digest mismatch: got " + got.ToString());
            // A mirror may serve junk; the registry itself gets the last word.
            if (ep.mirror) {
              TRY(restart());
              break;
            }
            return Fail(std::move(last));
          }
        }
        return {};
      }
      if (status == 416) {
        // Nothing left past `written` when the caller resumed at the very end.
        if (desc.size > 0 && written == desc.size) return {};
        TRY(restart());
        last = ErrorFromResponse(status, r->body, what);
        if (attempt < attempts) continue;
        break;
      }
      last = ErrorFromResponse(status, r->body, what);
      if (IsRetryableStatus(status) && attempt < attempts) {
        Backoff(attempt, &*r);
        continue;
      }
      break;
    }
    if (ep.mirror) base::LogInfo("registry: mirror {}: {}", ep.base_url, last.message());
  }
  return Fail(std::move(last));
}

Result<bool> Client::BlobExists(const Repository& repo, const oci::Digest& digest) {
  Endpoint ep = options_.hosts->Upstream(repo.domain);
  HttpRequest req;
  req.method = "HEAD";
  req.url = RepoUrl(ep, repo, "blobs/" + digest.ToString());
  req.follow_redirects = true;
  HttpResponse resp =
      TRY(Send(ep, req, {RepositoryScope(repo.path, "pull,push")}, /*retries=*/true));
  if (Is2xx(resp.status)) return true;
  if (resp.status == 404) return false;
  return Fail(ErrorFromResponse(resp.status, resp.body,
                                "check blob " + repo.Name() + "@" + digest.ToString()));
}

Result<bool> Client::MountBlob(const Repository& repo, const oci::Digest& digest,
                               const Repository& from) {
  if (from.domain != repo.domain) return false;
  Endpoint ep = options_.hosts->Upstream(repo.domain);
  HttpRequest req;
  req.method = "POST";
  req.url = RepoUrl(
      ep, repo,
      "blobs/uploads/?mount=" + UrlEscape(digest.ToString()) + "&from=" + UrlEscape(from.path));
  std::vector<std::string> scopes = {RepositoryScope(repo.path, "pull,push"),
                                     RepositoryScope(from.path, "pull")};
  HttpResponse resp = TRY(Send(ep, req, scopes, /*retries=*/true));
  if (resp.status == 201) return true;
  if (resp.status == 202) {
    // The registry opened an upload instead; cancel it rather than leave it to expire.
    if (auto location = resp.Header("location")) {
      if (Result<std::string> url = ResolveUrl(req.url, *location); url) {
        HttpRequest cancel;
        cancel.method = "DELETE";
        cancel.url = *url;
        (void)Send(ep, cancel, scopes, /*retries=*/false);
      }
    }
    return false;
  }
  return Fail(ErrorFromResponse(
      resp.status, resp.body,
      "mount " + digest.ToString() + " from " + from.Name() + " into " + repo.Name()));
}

Status Client::PushBlobOnce(const Endpoint& ep, const Repository& repo, const oci::Descriptor& desc,
                            BlobSource& source, const ProgressFn& progress) {
  const std::string what = "push blob " + repo.Name() + "@" + desc.digest.ToString();
  const std::vector<std::string> scopes = {RepositoryScope(repo.path, "pull,push")};
  HttpRequest start;
  start.method = "POST";
  start.url = RepoUrl(ep, repo, "blobs/uploads/");
  HttpResponse resp = TRY(Send(ep, start, scopes, /*retries=*/true));
  if (resp.status != 202) return Fail(ErrorFromResponse(resp.status, resp.body, what));
  std::optional<std::string> location = resp.Header("location");
  if (!location) return Fail(Error::Unavailable(what + ": upload answer lacks a Location"));
  std::string url = TRY(ResolveUrl(start.url, *location));

  // Reads [base, base+size) of the blob for one request body.
  auto body_from = [&](HttpRequest& req, int64_t base, int64_t size) {
    req.body_size = size;
    req.body_reader = [&source, &progress, base, total = desc.size](int64_t off, char* buf,
                                                                    size_t n) -> Result<size_t> {
      size_t got = TRY(source.ReadAt(base + off, buf, n));
      if (progress) progress(base + off + int64_t(got), total);
      return got;
    };
    req.headers.push_back("Content-Type: application/octet-stream");
  };

  const bool chunked = options_.chunk_size > 0 && desc.size > options_.chunk_threshold;
  HttpRequest finish;
  finish.method = "PUT";
  if (chunked) {
    for (int64_t off = 0; off < desc.size;) {
      int64_t n = std::min(options_.chunk_size, desc.size - off);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = url;
      body_from(patch, off, n);
      // distribution wants "<first>-<last>" without the "bytes " unit.
      patch.headers.push_back("Content-Range: " + std::to_string(off) + "-" +
                              std::to_string(off + n - 1));
      HttpResponse pr = TRY(Send(ep, patch, scopes, /*retries=*/false));
      if (pr.status != 202) return Fail(ErrorFromResponse(pr.status, pr.body, what));
      if (auto next = pr.Header("location")) url = TRY(ResolveUrl(url, *next));
      off += n;
    }
    finish.send_body = true;
  } else {
    body_from(finish, 0, desc.size);
  }
  finish.url = WithQuery(url, "digest=" + UrlEscape(desc.digest.ToString()));
  HttpResponse done = TRY(Send(ep, finish, scopes, /*retries=*/false));
  if (!Is2xx(done.status)) return Fail(ErrorFromResponse(done.status, done.body, what));
  if (auto header = done.Header("docker-content-digest")) {
    Result<oci::Digest> got = oci::Digest::Parse(*header);
    if (got && *got != desc.digest) {
      return Fail(Error::InvalidArgument(what + ": registry stored " + got->ToString()));
    }
  }
  return {};
}

Status Client::PushBlob(const Repository& repo, const oci::Descriptor& desc, BlobSource& source,
                        const ProgressFn& progress) {
  Endpoint ep = options_.hosts->Upstream(repo.domain);
  int attempts = std::max(1, options_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    Status s = PushBlobOnce(ep, repo, desc, source, progress);
    if (s || s.error().code() != ErrorCode::kUnavailable || attempt >= attempts) return s;
    base::LogDebug("registry: {}; starting the upload again", s.error().message());
    Backoff(attempt, nullptr);
  }
}

Result<oci::Digest> Client::PushManifest(const Repository& repo, std::string_view tag_or_digest,
                                         std::string_view media_type, std::string_view bytes) {
  oci::Digest digest = oci::Sha256Of(bytes);
  const std::string what = "push manifest " + repo.Name() + ":" + std::string(tag_or_digest);
  if (tag_or_digest.find(':') != std::string_view::npos) {
    oci::Digest want = TRY(oci::Digest::Parse(tag_or_digest));
    if (want != digest) {
      return Fail(Error::InvalidArgument(what + ": the manifest's digest is " + digest.ToString()));
    }
  }
  Endpoint ep = options_.hosts->Upstream(repo.domain);
  HttpRequest req;
  req.method = "PUT";
  req.url = RepoUrl(ep, repo, "manifests/" + std::string(tag_or_digest));
  req.send_body = true;
  req.body = std::string(bytes);
  req.headers.push_back("Content-Type: " + std::string(media_type));
  HttpResponse resp =
      TRY(Send(ep, req, {RepositoryScope(repo.path, "pull,push")}, /*retries=*/true));
  if (!Is2xx(resp.status)) return Fail(ErrorFromResponse(resp.status, resp.body, what));
  if (auto header = resp.Header("docker-content-digest")) {
    Result<oci::Digest> got = oci::Digest::Parse(*header);
    if (got && got->algorithm() == "sha256" && *got != digest) {
      return Fail(Error::InvalidArgument(what + ": registry computed " + got->ToString()));
    }
  }
  return digest;
}

}  // namespace berth::registry
