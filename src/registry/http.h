// Internal to berth_registry: a thin libcurl easy-handle wrapper. One request at a time; the
// connection and DNS caches survive between requests of one session.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::registry {

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // A request body from memory (used when body_reader is empty and send_body is true).
  bool send_body = false;
  std::string body;
  // A streamed request body of body_size bytes: fills `buf` from `offset` of the body, returns
  // the number of bytes written (0 only at the end). May be called again from 0 when curl
  // rewinds.
  std::function<base::Result<size_t>(int64_t offset, char* buf, size_t n)> body_reader;
  int64_t body_size = 0;
  // Receives the body of 2xx answers as it arrives instead of HttpResponse::body; an error
  // aborts the transfer and is returned by Do. `head` holds the final answer's status and
  // headers.
  std::function<base::Status(const HttpResponse& head, std::string_view data)> on_data;
  bool follow_redirects = false;
  std::string ca_file, client_cert, client_key;
  long connect_timeout_s = 30;
  // Abort when fewer than 1 byte/s arrive for this long (a stalled connection).
  long stall_timeout_s = 60;
};

struct HttpResponse {
  int status = 0;
  // Headers of the final answer (after redirects); names lowercased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // Bodies not given to on_data; capped at kMaxBufferedBody, further bytes dropped.
  std::string body;
  std::string effective_url;

  // The first header with this lowercase name.
  std::optional<std::string> Header(std::string_view name) const;
  std::vector<std::string> AllHeaders(std::string_view name) const;
};

inline constexpr size_t kMaxBufferedBody = 16 << 20;

class HttpSession {
 public:
  explicit HttpSession(std::string user_agent);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Any HTTP status is a successful Result. Errors: what on_data or body_reader returned, or a
  // transport failure ("GET http://x/v2/: Couldn't connect to server"): Unavailable when a
  // retry may help (connect, timeout, reset, short body), PermissionDenied for TLS trust
  // failures, InvalidArgument for unusable URLs.
  base::Result<HttpResponse> Do(const HttpRequest& request);

 private:
  void* curl_;  // CURL*
  std::string user_agent_;
};

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEscape(std::string_view s);
// Resolves a Location header against the URL it came from.
base::Result<std::string> ResolveUrl(const std::string& base, const std::string& location);
// The authority ("host:port") of an absolute URL, "" when there is none.
std::string UrlAuthority(std::string_view url);

}  // namespace berth::registry
