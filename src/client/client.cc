// The Engine API client: Beast's synchronous HTTP over an Asio unix socket.
#include "client/client.h"

#include <fmt/format.h>
#include <strings.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <limits>

#include "api/system.h"
#include "base/strings.h"

namespace berth::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;

base::Error Transport(const std::string& path, const std::string& what) {
  return base::Error::Unavailable(what + " (" + path + ")");
}

// Connects to the daemon's socket and writes one request (Connection: close).
base::Status SendRequest(Local::socket& socket, const std::string& socket_path,
                         std::string_view method, std::string_view target, std::string_view body,
                         std::string_view content_type,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  beast::error_code ec;
  socket.connect(Local::endpoint(socket_path), ec);
  if (ec) return base::Fail(Transport(socket_path, "connect: " + ec.message()));

  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  // Like the docker CLI, the Host header carries no meaning over a unix socket.
  req.set(http::field::host, "berth");
  req.set(http::field::user_agent, "berth-client");
  if (!content_type.empty())
    req.set(http::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.body() = std::string(body);
  req.keep_alive(false);
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return base::Fail(Transport(socket_path, "send request: " + ec.message()));
  return {};
}

}  // namespace

std::string_view Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

base::Result<Response> Client::Do(std::string_view method, std::string_view target,
                                  std::string_view body, std::string_view content_type,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  asio::io_context ioc;
  Local::socket socket(ioc);
  TRY(SendRequest(socket, socket_path_, method, target, body, content_type, headers));
  beast::error_code ec;

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // the daemon is trusted; images can be large
  parser.skip(method == "HEAD");
  http::read(socket, buffer, parser, ec);
  if (ec) return base::Fail(Transport(socket_path_, "read response: " + ec.message()));
  auto res = parser.release();

  Response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  socket.shutdown(Local::socket::shutdown_both, ec);
  return out;
}

base::Result<Response> Client::Stream(
    std::string_view method, std::string_view target, std::string_view body,
    std::string_view content_type, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::function<bool(std::string_view)>& on_data) {
  asio::io_context ioc;
  Local::socket socket(ioc);
  TRY(SendRequest(socket, socket_path_, method, target, body, content_type, headers));
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
  http::read_header(socket, buffer, parser, ec);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) return base::Fail(Transport(socket_path_, "read response: " + ec.message()));
  Response out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get())
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  bool ok_status = out.status >= 200 && out.status <= 299;
  arm();
  while (!parser.is_done()) {
    // read_some, not read: read() fills the whole 64 KiB body buffer before returning, which
    // holds back progress lines and `logs -f` output indefinitely.
    http::read_some(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return base::Fail(Transport(socket_path_, "read response body: " + ec.message()));
    std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
    arm();
    if (got.empty()) continue;
    if (!ok_status) {
      out.body.append(got);
    } else if (!on_data(got)) {
      return base::Fail(base::Error::Unavailable("stopped"));
    }
  }
  socket.shutdown(Local::socket::shutdown_both, ec);
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

base::Result<std::string> ResolveHost(std::string_view flag) {
  std::string host(flag);
  if (host.empty()) {
    if (const char* b = getenv("BERTH_HOST"); b && *b) {
      host = b;
    } else if (const char* d = getenv("DOCKER_HOST"); d && base::StartsWith(d, "unix://")) {
      host = d;
    } else {
      host = std::string(kDefaultHost);
    }
  }
  constexpr std::string_view kUnix = "unix://";
  if (base::StartsWith(host, kUnix) && host.size() > kUnix.size()) return host.substr(kUnix.size());
  if (base::StartsWith(host, "/")) return host;
  return base::Fail(base::Error::InvalidArgument("unsupported daemon address \"" + host +
                                                 "\": use unix:///PATH"));
}

}  // namespace berth::client
