// The daemon's view of one HTTP exchange, independent of the HTTP library: handlers and the
// router see these, only server.cc sees Beast.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/version.h"
#include "base/error.h"

namespace berth::daemon {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as sent: "/v1.41/info?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Filled in by the router.
  std::string path;                           // without the version prefix and the query: "/info"
  std::string query;                          // after '?', undecoded
  std::optional<api::ApiVersion> version;     // from "/vX.Y/", nullopt when unversioned
  std::map<std::string, std::string> params;  // "{name}" segments of the matched route

  // The first header with this name (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

// Sends the body of a streamed response, one chunk per Write, flushed to the client at once.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // False once the client has gone away: the stream should stop (its work may go on).
  virtual bool Write(std::string_view chunk) = 0;
  // Ends the response as broken: the connection is closed without the final chunk, so the
  // client sees a truncated body rather than a complete one (a tar that failed half-way).
  virtual void Abort() = 0;
};

struct Response;
// Computes a response off the server's I/O threads (see Response::deferred).
using DeferredFn = std::function<Response()>;
// Produces a streamed body (see Response::stream).
using StreamFn = std::function<void(BodyWriter&)>;
// Takes over a hijacked connection (see Response::hijack): `fd` is the connection's socket in
// blocking mode, still owned by the server (it is closed when the function returns; shutdown()
// of either direction is allowed); `early` holds bytes the client sent after the request that
// the server had already read (the start of the attach stdin).
using HijackFn = std::function<void(int fd, std::string early)>;

struct Response {
  int status = 200;
  std::string content_type;  // omitted when empty
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For handlers that block (registry round trips, pulls, loads): when set, the server runs it
  // on a thread of its own and sends what it returns instead of this response; the other fields
  // are ignored. It must not throw.
  DeferredFn deferred;
  // When set, `body` is ignored and the body is sent chunked: the server sends the status and
  // headers, then calls `stream` on a thread of its own; the response ends when it returns.
  // Failures after the headers went out travel in-band (Docker's {"errorDetail"} objects).
  StreamFn stream;
  // After a stream the server hands the allocator's free memory back (malloc_trim): pulls,
  // pushes, saves and logs leave megabytes of buffers. Small streams on the way of a container
  // run (wait, events, stats) say false: the trim costs ~0.25 ms of madvise calls here, on the
  // thread the client is woken on.
  bool trim_after_stream = true;
  // When set, the connection is hijacked the way dockerd's attach and exec start do: the server
  // sends "101 UPGRADED" (Connection: Upgrade, Upgrade: tcp) when the request asked for
  // "Upgrade: tcp", else "200 OK", with `content_type` and `headers` and no body framing, then
  // calls `hijack` on a thread of its own; the connection is closed when it returns. A deferred
  // response may return a hijacking one (the check that may still fail runs first).
  HijackFn hijack;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body);
  // {"message": ...} with Content-Type exactly application/json, as the Go client requires.
  static Response ErrorMessage(int status, std::string_view message);
  // The status comes from HttpStatusFor(error.code()).
  static Response FromError(const base::Error& error);
  // 200 application/json, chunked, produced by `fn`.
  static Response JsonStream(StreamFn fn, bool trim_after_stream = true);
  // A response computed by `fn` off the I/O threads.
  static Response Deferred(DeferredFn fn);
  // A hijacking response with the given stream type ("application/vnd.docker.raw-stream" or
  // "application/vnd.docker.multiplexed-stream").
  static Response Hijack(std::string content_type, HijackFn fn);
};

// The one place that maps error classes to HTTP statuses: NotFound 404, AlreadyExists and
// Conflict 409, InvalidArgument 400, PermissionDenied 403, Unavailable 503, anything else 500.
int HttpStatusFor(base::ErrorCode code);

// Headers dockerd puts on every response (Api-Version, Docker-Experimental, Ostype, Server).
void AddCommonHeaders(Response& response);

// "Berth/0.1.0 (linux)".
std::string ServerHeader();

}  // namespace berth::daemon
