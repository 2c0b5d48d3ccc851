// Requests whose response outlives the call: Client::Open (head now, body later) and
// Client::Hijack (the socket becomes a raw full-duplex stream after a 101). Plain POSIX sockets
// rather than Beast: after the head, the bytes are not HTTP any more, and the caller polls the fd
// (for TLS, the local end of the tunnel that Dial set up).
#include <errno.h>
#include <fmt/format.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "client/client.h"
#include "client/transport.h"

namespace berth::client {
namespace {

constexpr size_t kMaxHead = 64 << 10;

base::Error Transport(const Endpoint& ep, const Tunnel* tunnel, const std::string& what) {
  if (tunnel) {  // see client.cc's TransportError
    if (std::string why = tunnel->Error(); !why.empty())
      return base::Error::Unavailable("error during connect: " + ep.address + ": " + why);
  }
  return base::Error::Unavailable(what + " (" + Where(ep) + ")");
}

base::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a daemon that hung up must be an error, not a SIGPIPE.
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::Fail(base::Error::FromErrno(errno, "send"));
    data.remove_prefix(size_t(n));
  }
  return {};
}

// Reads more bytes into `buf`; 0 at EOF.
base::Result<size_t> ReadSome(int fd, std::string& buf) {
  char chunk[16 << 10];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::Fail(base::Error::FromErrno(errno, "read"));
    buf.append(chunk, size_t(n));
    return size_t(n);
  }
}

bool HeaderIs(const Response& r, std::string_view name, std::string_view value) {
  std::string_view v = r.Header(name);
  return v.size() == value.size() && strncasecmp(v.data(), value.data(), v.size()) == 0;
}

// Connects and sends the request.
base::Result<Dialed> SendRequest(const Endpoint& ep, std::string_view method,
                                 std::string_view target, std::string_view body,
                                 std::string_view content_type,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 bool upgrade) {
  Dialed d = TRY(Dial(ep));
  base::ScopeGuard close_fd([&d] {
    close(d.fd);
    if (d.tunnel) d.tunnel->Stop();
  });
  std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: berth-client\r\n",
                                method, target, ep.tcp ? ep.host : "berth");
  if (!content_type.empty()) req += fmt::format("Content-Type: {}\r\n", content_type);
  for (const auto& [k, v] : headers) req += fmt::format("{}: {}\r\n", k, v);
  req += fmt::format("Content-Length: {}\r\n", body.size());
  req += upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" : "Connection: close\r\n\r\n";
  req += body;
  if (auto st = WriteAll(d.fd, req); !st)
    return base::Fail(Transport(ep, d.tunnel.get(), "send request: " + st.error().message()));
  close_fd.Dismiss();
  return d;
}

// Reads up to the end of the head of the answer to the request sent on `d`.
base::Result<Connection> ReadHead(const Endpoint& ep, Dialed d) {
  int fd = d.fd;
  base::ScopeGuard close_fd([&d] {
    close(d.fd);
    if (d.tunnel) d.tunnel->Stop();
  });
  auto fail = [&](const std::string& what) {
    return base::Fail(Transport(ep, d.tunnel.get(), what));
  };
  std::string buf;
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHead) return fail("response head too long");
    auto n = ReadSome(fd, buf);
    if (!n) return fail("read response: " + n.error().message());
    if (*n == 0) return fail("read response: connection closed");
  }
  Response head;
  std::vector<std::string> lines = base::Split(std::string_view(buf).substr(0, end), '\n');
  for (std::string& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  // "HTTP/1.1 101 UPGRADED"
  std::vector<std::string> status = base::Split(lines[0], ' ');
  auto code = status.size() >= 2 ? base::ParseInt(status[1]) : std::nullopt;
  if (!base::StartsWith(lines[0], "HTTP/1.") || !code)
    return fail("malformed status line \"" + lines[0] + "\"");
  head.status = int(*code);
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    head.headers.emplace_back(
        lines[i].substr(0, colon),
        std::string(base::Trim(std::string_view(lines[i]).substr(colon + 1))));
  }
  close_fd.Dismiss();
  return Connection(fd, std::move(head), buf.substr(end + 4), std::move(d.tunnel));
}

// Connects, sends the request, reads up to the end of the head.
base::Result<Connection> Exchange(const Endpoint& ep, std::string_view method,
                                  std::string_view target, std::string_view body,
                                  std::string_view content_type,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  bool upgrade) {
  return ReadHead(ep, TRY(SendRequest(ep, method, target, body, content_type, headers, upgrade)));
}

// What Hijack returns for a head: the stream, or the daemon's error.
base::Result<Connection> HijackedOrError(Connection conn) {
  const Response& h = conn.head();
  std::string_view type = h.Header("Content-Type");
  bool raw = base::StartsWith(type, "application/vnd.docker.raw-stream") ||
             base::StartsWith(type, "application/vnd.docker.multiplexed-stream");
  if (h.status == 101 || (h.status == 200 && raw)) return conn;
  Response r = h;
  r.body = TRY(conn.ReadBody());
  return base::Fail(ErrorFromResponse(r));
}

}  // namespace

Connection::Connection(Connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      head_(std::move(o.head_)),
      buffered_(std::move(o.buffered_)),
      tunnel_(std::move(o.tunnel_)) {}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = std::exchange(o.fd_, -1);
    head_ = std::move(o.head_);
    buffered_ = std::move(o.buffered_);
    tunnel_ = std::move(o.tunnel_);
  }
  return *this;
}

void Connection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (tunnel_) tunnel_->Stop();
  tunnel_.reset();
}

void Connection::CloseWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

base::Result<std::string> Connection::ReadBody() {
  auto fail = [](const std::string& what) { return base::Fail(base::Error::Unavailable(what)); };
  if (head_.status == 204 || head_.status == 304 || head_.status / 100 == 1) return std::string();
  std::string buf = std::move(buffered_);
  buffered_.clear();
  if (HeaderIs(head_, "Transfer-Encoding", "chunked")) {
    std::string out;
    size_t pos = 0;
    for (;;) {
      size_t eol;
      while ((eol = buf.find("\r\n", pos)) == std::string::npos) {
        auto n = ReadSome(fd_, buf);
        if (!n || *n == 0) return fail("read response body: connection closed mid-chunk");
      }
      // The size may carry ";extensions".
      std::string size_text = buf.substr(pos, eol - pos);
      size_text = size_text.substr(0, size_text.find(';'));
      size_t size = 0;
      try {
        size = std::stoul(size_text, nullptr, 16);
      } catch (const std::exception&) {
        return fail("read response body: bad chunk size \"" + size_text + "\"");
      }
      if (size == 0) return out;  // trailers are ignored
      while (buf.size() < eol + 2 + size + 2) {
        auto n = ReadSome(fd_, buf);
        if (!n || *n == 0) return fail("read response body: connection closed mid-chunk");
      }
      out.append(buf, eol + 2, size);
      pos = eol + 2 + size + 2;
    }
  }
  if (std::string_view cl = head_.Header("Content-Length"); !cl.empty()) {
    auto want = base::ParseUint(cl);
    if (!want) return fail("read response body: bad Content-Length");
    while (buf.size() < *want) {
      auto n = ReadSome(fd_, buf);
      if (!n || *n == 0) return fail("read response body: connection closed");
    }
    buf.resize(*want);
    return buf;
  }
  for (;;) {
    auto n = ReadSome(fd_, buf);
    if (!n) return fail("read response body: " + n.error().message());
    if (*n == 0) return buf;
  }
}

// Plain sockets rather than Beast here too: the CLI's run goes through Do (create, start), and
// an asio io_context per request (eventfd, epoll and timerfd, each made and closed) plus the
// first touches of Beast's code cost it more than the request itself on the reference VM.
base::Result<Response> Client::Do(std::string_view method, std::string_view target,
                                  std::string_view body, std::string_view content_type,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  Connection conn = TRY(Exchange(endpoint_, method, target, body, content_type, headers, false));
  Response out = conn.head();
  if (method != "HEAD") {
    auto read = conn.ReadBody();
    if (!read) return base::Fail(Transport(endpoint_, nullptr, read.error().message()));
    out.body = std::move(*read);
  }
  return out;
}

base::Result<Connection> Client::Open(
    std::string_view method, std::string_view target, std::string_view body,
    std::string_view content_type,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  return Exchange(endpoint_, method, target, body, content_type, headers, false);
}

base::Result<Connection> Client::Hijack(std::string_view method, std::string_view target,
                                        std::string_view body, std::string_view content_type) {
  return HijackedOrError(
      TRY(Exchange(endpoint_, method, target, body, content_type, {}, /*upgrade=*/true)));
}

base::Result<PendingRequest> Client::SendOpen(std::string_view method, std::string_view target) {
  Dialed d = TRY(SendRequest(endpoint_, method, target, {}, {}, {}, false));
  return PendingRequest(endpoint_, d.fd, std::move(d.tunnel), false);
}

base::Result<PendingRequest> Client::SendHijack(std::string_view method, std::string_view target) {
  Dialed d = TRY(SendRequest(endpoint_, method, target, {}, "application/json", {}, true));
  return PendingRequest(endpoint_, d.fd, std::move(d.tunnel), true);
}

PendingRequest::PendingRequest(PendingRequest&& o) noexcept
    : endpoint_(o.endpoint_),
      fd_(std::exchange(o.fd_, -1)),
      tunnel_(std::move(o.tunnel_)),
      hijack_(o.hijack_) {}

PendingRequest::~PendingRequest() {
  if (fd_ >= 0) close(fd_);
  if (tunnel_) tunnel_->Stop();
}

base::Result<Connection> PendingRequest::Finish() {
  if (fd_ < 0) return base::Fail(base::Error::Internal("PendingRequest::Finish called twice"));
  Dialed d{std::exchange(fd_, -1), std::move(tunnel_)};
  Connection conn = TRY(ReadHead(*endpoint_, std::move(d)));
  if (hijack_) return HijackedOrError(std::move(conn));
  return conn;
}

}  // namespace berth::client
