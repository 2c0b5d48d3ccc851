// The Engine API client: Beast's synchronous HTTP over the socket that Dial returns (the unix
// socket, a TCP socket, or the local end of a TLS tunnel).
#include "client/client.h"

#include <fmt/format.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <limits>

#include "api/system.h"
#include "base/strings.h"
#include "client/transport.h"

namespace berth::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Descriptor = asio::posix::stream_descriptor;

base::Error TransportError(const Endpoint& ep, const Tunnel* tunnel, const std::string& what) {
  // A daemon that refused our certificate says so only after the handshake (TLS 1.3): its
  // reason beats "end of stream".
  if (tunnel) {
    if (std::string why = tunnel->Error(); !why.empty())
      return base::Error::Unavailable("error during connect: " + ep.address + ": " + why);
  }
  return base::Error::Unavailable(what + " (" + Where(ep) + ")");
}

// A connection with one request written (Connection: close). Members are destroyed in reverse:
// the socket closes before the tunnel behind it stops.
struct Exchange {
  std::shared_ptr<Tunnel> tunnel;
  asio::io_context ioc;
  Descriptor stream{ioc};

  ~Exchange() {
    beast::error_code ec;
    if (stream.is_open()) shutdown(stream.native_handle(), SHUT_RDWR);
    stream.close(ec);
    if (tunnel) tunnel->Stop();
  }

  base::Status Send(const Endpoint& ep, std::string_view method, std::string_view target,
                    std::string_view body, std::string_view content_type,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
    Dialed d = TRY(Dial(ep));
    tunnel = std::move(d.tunnel);
    beast::error_code ec;
    stream.assign(d.fd, ec);
    if (ec) {
      close(d.fd);
      return base::Fail(TransportError(ep, nullptr, "connect: " + ec.message()));
    }
    http::request<http::string_body> req;
    req.method_string(beast::string_view(method.data(), method.size()));
    req.target(beast::string_view(target.data(), target.size()));
    req.version(11);
    // Like the docker CLI, the Host header carries no meaning over a unix socket.
    req.set(http::field::host, ep.tcp ? ep.host : "berth");
    req.set(http::field::user_agent, "berth-client");
    if (!content_type.empty())
      req.set(http::field::content_type,
              beast::string_view(content_type.data(), content_type.size()));
    for (const auto& [k, v] : headers) req.insert(k, v);
    req.body() = std::string(body);
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req, ec);
    if (ec) return base::Fail(TransportError(ep, tunnel.get(), "send request: " + ec.message()));
    return {};
  }

  base::Error Broken(const Endpoint& ep, const std::string& what) {
    return TransportError(ep, tunnel.get(), what);
  }
};

}  // namespace

std::string_view Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

base::Result<Response> Client::Stream(
    std::string_view method, std::string_view target, std::string_view body,
    std::string_view content_type, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::function<bool(std::string_view)>& on_data) {
  Exchange x;
  TRY(x.Send(endpoint_, method, target, body, content_type, headers));
  beast::error_code ec;

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  std::string chunk(64 << 10, '\0');
  // The body buffer is set before every read, the header's included: bytes of the body that
  // arrive with the header go straight into it.
  auto arm = [&] {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
  };
  arm();
  http::read_header(x.stream, buffer, parser, ec);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) return base::Fail(x.Broken(endpoint_, "read response: " + ec.message()));
  Response out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get())
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  bool ok_status = out.status >= 200 && out.status <= 299;
  arm();
  while (!parser.is_done()) {
    // read_some, not read: read() fills the whole 64 KiB body buffer before returning, which
    // holds back progress lines and `logs -f` output indefinitely.
    http::read_some(x.stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return base::Fail(x.Broken(endpoint_, "read response body: " + ec.message()));
    std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
    arm();
    if (got.empty()) continue;
    if (!ok_status) {
      out.body.append(got);
    } else if (!on_data(got)) {
      return base::Fail(base::Error::Unavailable("stopped"));
    }
  }
  return out;
}

std::string QueryEscape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

base::Error ErrorFromResponse(const Response& r) {
  std::string message;
  if (r.Header("Content-Type") == "application/json") {
    if (auto e = api::DecodeErrorResponse(r.body)) message = e->message;
  }
  if (message.empty()) message = std::string(base::Trim(r.body));
  if (message.empty()) message = "request returned HTTP " + std::to_string(r.status);
  switch (r.status) {
    case 400:
      return base::Error::InvalidArgument(message);
    case 401:
    case 403:
      return base::Error::PermissionDenied(message);
    case 404:
      return base::Error::NotFound(message);
    case 409:
      return base::Error::Conflict(message);
    case 503:
      return base::Error::Unavailable(message);
    default:
      return base::Error::Internal(message);
  }
}

base::Result<std::string> Client::GetJson(std::string_view target) {
  Response r = TRY(Get(target));
  if (r.status < 200 || r.status > 299) return base::Fail(ErrorFromResponse(r));
  return std::move(r.body);
}

Client::Client(std::string socket_path) {
  endpoint_.address = "unix://" + socket_path;
  endpoint_.socket_path = std::move(socket_path);
}

base::Result<Endpoint> ParseEndpoint(std::string_view address, std::optional<TlsOptions> tls) {
  Endpoint ep;
  ep.address = std::string(address);
  constexpr std::string_view kUnix = "unix://", kTcp = "tcp://";
  if (base::StartsWith(address, kUnix) && address.size() > kUnix.size()) {
    ep.socket_path = std::string(address.substr(kUnix.size()));
    return ep;
  }
  if (base::StartsWith(address, "/")) {
    ep.socket_path = std::string(address);
    ep.address = "unix://" + ep.socket_path;
    return ep;
  }
  auto bad = [&](std::string_view why) {
    return base::Fail(base::Error::InvalidArgument(
        fmt::format("unsupported daemon address \"{}\": {}; use unix:///PATH or tcp://HOST:PORT",
                    address, why)));
  };
  if (!base::StartsWith(address, kTcp)) return bad("unknown scheme");
  std::string_view rest = address.substr(kTcp.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) return bad("unexpected path");
  std::string_view port;
  if (base::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || (close + 1 < rest.size() && rest[close + 1] != ':'))
      return bad("bad IPv6 address");
    ep.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size()) port = rest.substr(close + 2);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) return bad("IPv6 addresses need brackets");
    ep.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    ep.host = std::string(rest);
  }
  if (ep.host.empty()) ep.host = "localhost";
  ep.port = tls ? 2376 : 2375;
  if (!port.empty()) {
    auto p = base::ParseUint(port);
    if (!p || *p == 0 || *p > 65535) return bad("bad port");
    ep.port = static_cast<uint16_t>(*p);
  }
  ep.tcp = true;
  ep.tls = std::move(tls);
  return ep;
}

base::Result<Endpoint> ResolveEndpoint(const HostFlags& flags) {
  auto env = [](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? v : "";
  };
  std::string host = flags.host;
  if (host.empty()) host = env("BERTH_HOST");
  if (host.empty()) {
    std::string d = env("DOCKER_HOST");
    // Other schemes (ssh://, npipe://) are docker's alone: fall back to berth's socket.
    if (base::StartsWith(d, "unix://") || base::StartsWith(d, "tcp://")) host = d;
  }
  if (host.empty()) host = std::string(kDefaultHost);

  bool verify = flags.tls_verify.value_or(!env("DOCKER_TLS_VERIFY").empty());
  bool tls = verify || flags.tls.value_or(!env("DOCKER_TLS").empty());
  std::optional<TlsOptions> opts;
  if (tls) {
    std::string dir = env("DOCKER_CERT_PATH");
    if (dir.empty()) dir = env("DOCKER_CONFIG");
    if (dir.empty()) dir = env("HOME") + "/.docker";
    auto file_or_default = [&](const std::string& given, const char* name, bool must_exist) {
      if (!given.empty()) return given;
      std::string path = dir + "/" + name;
      struct stat st {};
      return must_exist || stat(path.c_str(), &st) == 0 ? path : std::string();
    };
    opts.emplace();
    opts->verify = verify;
    opts->ca_cert = file_or_default(flags.tls_ca_cert, "ca.pem", true);
    opts->cert = file_or_default(flags.tls_cert, "cert.pem", false);
    opts->key = file_or_default(flags.tls_key, "key.pem", false);
  }
  return ParseEndpoint(host, std::move(opts));
}

}  // namespace berth::client
