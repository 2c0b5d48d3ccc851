// Client: a small synchronous HTTP/1.1 client of the Engine API over a unix socket, or TCP with
// TLS (docker's -H tcp:// --tlsverify), for the CLI and the tests. One connection per request
// (the daemon is usually local; pooling can come later).
//
// Thread-safety: a Client holds no connection state; concurrent calls are fine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::client {

inline constexpr std::string_view kDefaultHost = "unix:///run/berth/berth.sock";

struct Response;
class Connection;
class PendingRequest;
class Tunnel;

// TLS towards a tcp:// daemon, as the docker CLI's --tls and --tlsverify set it up.
struct TlsOptions {
  // Check the daemon's certificate against ca_cert and against the address's host name or IP
  // (--tlsverify); without it any certificate is accepted (--tls).
  bool verify = true;
  std::string ca_cert;    // PEM; read only when verify
  std::string cert, key;  // our client certificate and its key, PEM; both or neither
};

// Where the daemon listens.
struct Endpoint {
  std::string address;  // as given: "unix:///run/berth/berth.sock", "tcp://127.0.0.1:2376"
  bool tcp = false;
  std::string socket_path;        // unix
  std::string host;               // tcp: a name or an IP literal (no brackets)
  uint16_t port = 0;              // tcp
  std::optional<TlsOptions> tls;  // tcp only; plain TCP when unset
  // tcp: how long one address may take to accept the connection, and the TLS handshake to
  // finish (the docker CLI's 30 s dial and 10 s handshake timeouts), so that a daemon address
  // that drops packets, or a server that never answers, is an error instead of a hang.
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header with this name (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

class Client {
 public:
  // A daemon on the unix socket at `socket_path`.
  explicit Client(std::string socket_path);
  explicit Client(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // Sends one request and reads the whole response. Transport failures (no daemon, connection
  // reset) are kUnavailable; HTTP error statuses are not errors here: check Response::status.
  base::Result<Response> Do(std::string_view method, std::string_view target,
                            std::string_view body = {}, std::string_view content_type = {},
                            const std::vector<std::pair<std::string, std::string>>& headers = {});
  base::Result<Response> Get(std::string_view target) { return Do("GET", target); }
  base::Result<Response> Head(std::string_view target) { return Do("HEAD", target); }
  base::Result<Response> Post(std::string_view target, std::string_view body = {},
                              std::string_view content_type = "application/json") {
    return Do("POST", target, body, content_type);
  }

  // Like Do, but a 2xx body is handed to `on_data` piece by piece as it arrives (progress
  // streams, tar downloads) instead of being kept; Response::body then stays empty. Other
  // statuses are read whole into Response::body. `on_data` returning false stops reading
  // (kUnavailable "stopped"). Transport failures mid-body are kUnavailable.
  base::Result<Response> Stream(std::string_view method, std::string_view target,
                                std::string_view body, std::string_view content_type,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::function<bool(std::string_view)>& on_data);

  // GET and decode a JSON answer; a non-2xx status becomes an error whose code follows the
  // status (404 kNotFound, 409 kConflict, 400 kInvalidArgument, ...) and whose message is the
  // daemon's "message".
  base::Result<std::string> GetJson(std::string_view target);

  // Sends a request and returns as soon as the response head has arrived, leaving the body on
  // the connection: for answers whose headers come long before their body (wait, which the
  // daemon flushes at once so that `run` can start the container while it waits). Any status is
  // returned; read the body with Connection::ReadBody.
  base::Result<Connection> Open(
      std::string_view method, std::string_view target, std::string_view body = {},
      std::string_view content_type = {},
      const std::vector<std::pair<std::string, std::string>>& headers = {});

  // The client side of a hijacked stream (attach, exec start): sends the request with
  // `Connection: Upgrade` and `Upgrade: tcp` and reads the response head. On 101, or on 200 with
  // a vnd.docker raw/multiplexed-stream content type (dockerd without the Upgrade header), returns
  // the connection, positioned at the first byte of the stream (Connection::buffered() holds
  // bytes that came with the head). Any other status reads the body and fails with
  // ErrorFromResponse (the daemon's JSON "message").
  base::Result<Connection> Hijack(std::string_view method, std::string_view target,
                                  std::string_view body = {},
                                  std::string_view content_type = "application/json");

  // Open and Hijack in two steps, so that requests can be in flight together on their own
  // connections (`run` sends its attach and its wait at once, and waits for both heads before
  // the start): these connect and send the request; PendingRequest::Finish reads the head and
  // returns what Open (Hijack) would have.
  base::Result<PendingRequest> SendOpen(std::string_view method, std::string_view target);
  base::Result<PendingRequest> SendHijack(std::string_view method, std::string_view target);
  // The unix socket's path; "" for a tcp:// endpoint.
  const std::string& socket_path() const { return endpoint_.socket_path; }
  // "unix:///PATH" or "tcp://HOST:PORT", for messages.
  const std::string& address() const { return endpoint_.address; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Endpoint endpoint_;
};

// An HTTP connection to the daemon whose response head has been read (Client::Open, Hijack).
// Owns the socket: destroying or closing it abandons the request, which the daemon tolerates
// (docker drops its pending `wait` the same way after `run -d`). Move-only; not thread-safe,
// except that one thread may read fd() while another writes to it (a hijacked stream is
// full duplex).
class Connection {
 public:
  Connection() = default;
  // `tunnel`: the TLS relay behind `fd`, stopped when the connection closes.
  Connection(int fd, Response head, std::string buffered, std::shared_ptr<Tunnel> tunnel = nullptr)
      : fd_(fd),
        head_(std::move(head)),
        buffered_(std::move(buffered)),
        tunnel_(std::move(tunnel)) {}
  Connection(Connection&& o) noexcept;
  Connection& operator=(Connection&& o) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { Close(); }

  // A socket in blocking mode (for TLS, one end of a socketpair relayed to the TLS connection):
  // poll, read, send and shutdown(SHUT_WR) it as the daemon's socket.
  int fd() const { return fd_; }
  // Status and headers; head().body stays empty.
  const Response& head() const { return head_; }
  // Bytes read past the head: the start of the body or stream. Consumers take them first.
  std::string& buffered() { return buffered_; }

  // Reads the rest of an ordinary body (Content-Length, chunked, or up to EOF), blocking.
  // kUnavailable when the connection breaks first.
  base::Result<std::string> ReadBody();
  // shutdown(SHUT_WR): "stdin has ended". A hijacked stream keeps delivering output after it.
  void CloseWrite();
  void Close();

 private:
  int fd_ = -1;
  Response head_;
  std::string buffered_;
  std::shared_ptr<Tunnel> tunnel_;
};

// A request sent whose response head is still to be read (Client::SendOpen, SendHijack). Owns
// the connection until Finish; dropping it abandons the request. Move-only.
class PendingRequest {
 public:
  PendingRequest(PendingRequest&& o) noexcept;
  PendingRequest& operator=(PendingRequest&&) = delete;
  PendingRequest(const PendingRequest&) = delete;
  PendingRequest& operator=(const PendingRequest&) = delete;
  ~PendingRequest();

  // Blocks for the response head; then as Client::Open or Client::Hijack. Once only.
  base::Result<Connection> Finish();

 private:
  friend class Client;
  PendingRequest(const Endpoint& endpoint, int fd, std::shared_ptr<Tunnel> tunnel, bool hijack)
      : endpoint_(&endpoint), fd_(fd), tunnel_(std::move(tunnel)), hijack_(hijack) {}

  const Endpoint* endpoint_;  // the Client's, which must outlive this
  int fd_ = -1;
  std::shared_ptr<Tunnel> tunnel_;
  bool hijack_ = false;
};

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string QueryEscape(std::string_view value);

// Error for a non-2xx response, as GetJson() builds it.
base::Error ErrorFromResponse(const Response& response);

// "unix:///PATH" (or a bare "/PATH"), or "tcp://HOST[:PORT]" ("[v6]:PORT"; HOST "" is
// localhost; PORT 2376 with TLS, else 2375) with `tls` (ignored for unix, as docker does).
// kInvalidArgument for other schemes.
base::Result<Endpoint> ParseEndpoint(std::string_view address, std::optional<TlsOptions> tls);

// The global flags that choose the daemon: docker's -H, --tls, --tlsverify, --tlscacert,
// --tlscert, --tlskey. Unset: not given.
struct HostFlags {
  std::string host;
  std::optional<bool> tls, tls_verify;
  std::string tls_ca_cert, tls_cert, tls_key;
};

// The daemon's endpoint as the docker CLI finds it: -H, else $BERTH_HOST, else $DOCKER_HOST when
// it is unix:// or tcp://, else kDefaultHost. TLS with --tls or --tlsverify, else when
// $DOCKER_TLS or $DOCKER_TLS_VERIFY is non-empty; verification with --tlsverify, else
// $DOCKER_TLS_VERIFY. Files not given are ca.pem, cert.pem and key.pem in $DOCKER_CERT_PATH,
// else $DOCKER_CONFIG, else ~/.docker; default cert.pem and key.pem that do not exist are left
// out (no client certificate). Files are read when connecting.
base::Result<Endpoint> ResolveEndpoint(const HostFlags& flags);

}  // namespace berth::client
