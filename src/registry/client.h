// The distribution client: OCI distribution-spec / Docker Registry HTTP API v2 over libcurl.
// Resolves references to descriptors, fetches manifests and blobs (streamed, verified,
// resumable, with retries and mirrors), pushes blobs and manifests, and runs the registry auth
// flows (Bearer tokens from the challenge's realm, Basic) on 401 answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/reference.h"
#include "registry/blob_io.h"
#include "registry/credentials.h"
#include "registry/hosts.h"

namespace berth::registry {

class HttpSession;
struct HttpRequest;
struct HttpResponse;

// A repository in a registry: "docker.io" + "library/busybox".
struct Repository {
  std::string domain;
  std::string path;
  static Repository Of(const oci::ImageReference& ref) { return {ref.domain, ref.path}; }
  std::string Name() const { return domain + "/" + path; }
};

struct ClientOptions {
  const RegistryHosts* hosts = nullptr;          // not owned; required; outlives the Client
  const CredentialStore* credentials = nullptr;  // not owned; may be null (anonymous)
  std::string user_agent = "berth/0.1";
  // Attempts per endpoint for transient failures (connection errors, 5xx, 429).
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{500};  // doubled after each failure
  std::chrono::milliseconds max_backoff{30000};    // also caps Retry-After
  // Blobs larger than this are pushed in chunks of chunk_size (PATCH); smaller ones in one PUT.
  int64_t chunk_threshold = 64 << 20;
  int64_t chunk_size = 16 << 20;
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;
};

// What ResolveImage found for one platform. `index` is set when the reference named an index
// (or Docker manifest list); the manifest is then the platform's entry in it.
struct ResolvedImage {
  oci::Descriptor root;  // what the reference resolved to
  std::optional<oci::Index> index;
  std::string index_bytes;
  oci::Descriptor manifest_descriptor;
  oci::Manifest manifest;
  std::string manifest_bytes;
  oci::ImageConfig config;
  std::string config_bytes;  // verified against manifest.config.digest
};

// One client per operation context (a pull, a push, a login). Thread-compatible: use from one
// thread at a time. Caches tokens per (host, scope) and the auth scheme per host for its
// lifetime. Every call returns errors classed by base::ErrorCode:
//   NotFound          404 (manifest/blob/repository unknown), text from the registry's errors[]
//   PermissionDenied  401/403 after authenticating, bad credentials, TLS trust failures
//   Unavailable       connection failures, 429, 5xx, after retries
//   InvalidArgument   digest or size mismatches, malformed answers, 400
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET /v2/ on the registry of `domain`, authenticating when it answers 401.
  base::Status Ping(std::string_view domain);

  // Checks user/password against the registry's /v2/ through its auth flow. On success the
  // Client keeps using these credentials for `domain`. Bad credentials: PermissionDenied
  // "unauthorized: incorrect username or password".
  base::Status Login(std::string_view domain, const std::string& user, const std::string& password);

  // The descriptor a reference (tag or digest) names, asking HEAD then GET for its manifest
  // with every manifest/index media type accepted. When the reference carries a digest the
  // answer must match it. Tries mirrors first for reads.
  base::Result<oci::Descriptor> Resolve(const oci::ImageReference& ref);

  // The manifest (or index) bytes of a resolved descriptor, verified against its digest and
  // size. Capped at 8 MiB.
  base::Result<std::string> FetchManifest(const Repository& repo,
                                          const oci::Descriptor& descriptor);

  // Resolve, then index -> the manifest for `platform` (oci::SelectPlatform) -> config blob.
  base::Result<ResolvedImage> ResolveImage(const oci::ImageReference& ref,
                                           const oci::Platform& platform);

  // Streams a blob into `sink`, starting at byte `offset` (the sink already holds the bytes
  // before it). Follows redirects (dropping our Authorization header on a change of host).
  // Transient failures are retried with exponential backoff, resuming with a Range request at
  // the first byte not yet written; a server that ignores Range makes the sink Restart().
  // When the bytes went through this call from byte 0 their sha256 is checked against the
  // descriptor (InvalidArgument on mismatch); with offset > 0 only the size is checked and the
  // caller verifies the whole blob. Errors from the sink end the fetch and are returned as-is.
  base::Status FetchBlob(const Repository& repo, const oci::Descriptor& descriptor, BlobSink& sink,
                         int64_t offset = 0, const ProgressFn& progress = {});

  // HEAD /v2/<repo>/blobs/<digest>: true on 200, false on 404.
  base::Result<bool> BlobExists(const Repository& repo, const oci::Digest& digest);

  // Cross-repository mount (same registry): true when the registry mounted the blob (201);
  // false when it offered an upload instead (202; the offered upload is cancelled) and the
  // caller must PushBlob.
  base::Result<bool> MountBlob(const Repository& repo, const oci::Digest& digest,
                               const Repository& from);

  // Uploads a blob of descriptor.size bytes: POST then one PUT ?digest= when the size is at
  // most chunk_threshold, else PATCH chunks with Content-Range then a closing PUT. A failed
  // upload is started again (up to max_attempts). The registry verifies the digest
  // (InvalidArgument when it does not match).
  base::Status PushBlob(const Repository& repo, const oci::Descriptor& descriptor,
                        BlobSource& source, const ProgressFn& progress = {});

  // PUT /v2/<repo>/manifests/<tag_or_digest>; returns the manifest's sha256 digest. When
  // tag_or_digest is a digest it must be that of `bytes` (InvalidArgument otherwise).
  base::Result<oci::Digest> PushManifest(const Repository& repo, std::string_view tag_or_digest,
                                         std::string_view media_type, std::string_view bytes);

 private:
  struct HostAuth;
  struct CachedToken {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };

  // Sends `req` to `ep`, adding Authorization for `scopes` and on a 401 running the challenge
  // and retrying once. With `retries`, transient failures are retried with backoff (requests
  // whose body is not repeatable must pass false). Non-2xx answers are successful Results.
  base::Result<HttpResponse> Send(const Endpoint& ep, HttpRequest req,
                                  const std::vector<std::string>& scopes, bool retries);
  base::Result<HttpResponse> SendOnce(const Endpoint& ep, HttpRequest& req,
                                      const std::vector<std::string>& scopes);
  // The Authorization header value for `scopes` at `ep`, nullopt when we have nothing to
  // offer. A token fetched here is also cached under `also_for` (scopes it covers).
  base::Result<std::optional<std::string>> Authorization(
      const Endpoint& ep, const std::vector<std::string>& scopes, bool refresh,
      const std::vector<std::string>* also_for = nullptr);
  base::Status Authenticate(const Endpoint& ep, const HttpResponse& resp,
                            const std::vector<std::string>& scopes);
  base::Result<std::optional<Credentials>> CredentialsFor(const Endpoint& ep);
  void ApplyTls(const Endpoint& ep, HttpRequest& req) const;
  // Sleeps before attempt `attempt` (1-based count of failures so far).
  void Backoff(int attempt, const HttpResponse* resp) const;

  base::Result<oci::Descriptor> ResolveAt(const Endpoint& ep, const oci::ImageReference& ref);
  base::Result<std::string> FetchManifestAt(const Endpoint& ep, const Repository& repo,
                                            const oci::Descriptor& descriptor);
  base::Status PushBlobOnce(const Endpoint& ep, const Repository& repo,
                            const oci::Descriptor& descriptor, BlobSource& source,
                            const ProgressFn& progress);

  ClientOptions options_;
  std::unique_ptr<HttpSession> http_;
  std::map<std::string, std::unique_ptr<HostAuth>> host_auth_;  // by endpoint host
  std::map<std::string, CachedToken> tokens_;                   // by host + realm + scopes
  std::map<std::string, Credentials> login_;                    // by domain, from Login
};

}  // namespace berth::registry
