// Dialing the daemon: unix sockets and TCP with POSIX calls, TLS with Asio over OpenSSL (TLS 1.2
// or later, the daemon's certificate checked against the CA and the address's name or IP, as the
// docker CLI's --tlsverify does), relayed to a socketpair by a Tunnel.
#include "client/transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "base/scope_guard.h"

namespace berth::client {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using Tcp = asio::ip::tcp;
using Local = asio::local::stream_protocol;
using boost::system::error_code;

base::Error ConnectError(const Endpoint& ep, const std::string& why) {
  return base::Error::Unavailable("connect: " + why + " (" + Where(ep) + ")");
}

base::Error TlsError(const std::string& why) {
  return base::Error::Unavailable("error during connect: " + why);
}

base::Result<std::string> ReadPem(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return base::Fail(
        TlsError(fmt::format("could not read {} \"{}\": {}", what, path, strerror(errno))));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

base::Result<int> DialUnix(const Endpoint& ep) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (ep.socket_path.size() >= sizeof(addr.sun_path))
    return base::Fail(ConnectError(ep, "socket path too long"));
  memcpy(addr.sun_path, ep.socket_path.data(), ep.socket_path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::Fail(base::Error::FromErrno(errno, "socket"));
  base::ScopeGuard close_fd([fd] { close(fd); });
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return base::Fail(ConnectError(ep, strerror(errno)));
  close_fd.Dismiss();
  return fd;
}

// Tries every address of the host in turn, as Go's dialer does.
// connect(2) that gives up after `limit`: non-blocking, poll for writability, then back to
// blocking (the HTTP code above expects a blocking socket).
base::Status ConnectWithin(int fd, const sockaddr* addr, socklen_t len,
                           std::chrono::milliseconds limit) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) return base::Fail(base::Error::Internal(strerror(errno)));
    pollfd p{fd, POLLOUT, 0};
    int n;
    do {
      n = poll(&p, 1, static_cast<int>(limit.count()));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
      return base::Fail(
          base::Error::Unavailable(fmt::format("i/o timeout after {} ms", limit.count())));
    int err = 0;
    socklen_t elen = sizeof(err);
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err != 0) return base::Fail(base::Error::Internal(strerror(err)));
  }
  fcntl(fd, F_SETFL, flags);
  return {};
}

base::Result<int> DialTcp(const Endpoint& ep) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  if (int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    return base::Fail(ConnectError(ep, rc != 0 ? gai_strerror(rc) : "no address"));
  base::ScopeGuard free_res([res] { freeaddrinfo(res); });
  std::string why = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      why = strerror(errno);
      continue;
    }
    if (auto st = ConnectWithin(fd, ai->ai_addr, ai->ai_addrlen, ep.connect_timeout); st) {
      int one = 1;  // attach and exec carry keystrokes
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    } else {
      why = st.error().message();
    }
    close(fd);
  }
  return base::Fail(ConnectError(ep, why));
}

class TlsTunnel : public Tunnel {
 public:
  ~TlsTunnel() override { Stop(); }

  // The context, the TCP connection and the handshake, on the calling thread.
  base::Status Connect(const Endpoint& ep) {
    const TlsOptions& o = *ep.tls;
    error_code ec;
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_2_VERSION);
    if (o.verify) {
      std::string ca = TRY(ReadPem(o.ca_cert, "CA certificate"));
      if (ctx_.add_certificate_authority(asio::buffer(ca), ec); ec)
        return base::Fail(
            TlsError(fmt::format("CA certificate \"{}\": {}", o.ca_cert, ec.message())));
      ctx_.set_verify_mode(ssl::verify_peer, ec);
    } else {
      ctx_.set_verify_mode(ssl::verify_none, ec);
    }
    if (!o.cert.empty() || !o.key.empty()) {
      std::string cert = TRY(ReadPem(o.cert, "client certificate"));
      std::string key = TRY(ReadPem(o.key, "client key"));
      if (ctx_.use_certificate_chain(asio::buffer(cert), ec); ec)
        return base::Fail(
            TlsError(fmt::format("client certificate \"{}\": {}", o.cert, ec.message())));
      if (ctx_.use_private_key(asio::buffer(key), ssl::context::pem, ec); ec)
        return base::Fail(TlsError(fmt::format("client key \"{}\": {}", o.key, ec.message())));
    }
    tls_.emplace(ioc_, ctx_);
    SSL* handle = tls_->native_handle();
    (void)asio::ip::make_address(ep.host, ec);
    if (ec) {
      SSL_set_tlsext_host_name(handle, ep.host.c_str());  // SNI takes names only
      if (o.verify) SSL_set1_host(handle, ep.host.c_str());
    } else if (o.verify) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), ep.host.c_str());
    }
    int fd = TRY(DialTcp(ep));
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    if (tls_->next_layer().assign(addr.ss_family == AF_INET6 ? Tcp::v6() : Tcp::v4(), fd, ec); ec) {
      close(fd);
      return base::Fail(ConnectError(ep, ec.message()));
    }
    // Asynchronously, so that a server that never answers costs handshake_timeout, not a hang.
    bool done = false;
    tls_->async_handshake(ssl::stream_base::client, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    ioc_.run_for(ep.handshake_timeout);
    if (!done) {
      tls_->next_layer().close(ec);
      ioc_.run();  // the cancelled handshake completes
      ioc_.restart();
      return base::Fail(TlsError(fmt::format("TLS handshake with {}: timeout after {} ms",
                                             ep.address, ep.handshake_timeout.count())));
    }
    ioc_.restart();
    if (ec) {
      std::string why = ec.message();
      long verify = SSL_get_verify_result(handle);
      if (verify != X509_V_OK) why += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      return base::Fail(TlsError(fmt::format("TLS handshake with {}: {}", ep.address, why)));
    }
    return {};
  }

  // Starts relaying; returns the caller's end of the socketpair.
  base::Result<int> Start() {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      return base::Fail(base::Error::FromErrno(errno, "socketpair"));
    error_code ec;
    local_.emplace(ioc_);
    if (local_->assign(Local(), pair[0], ec); ec) {
      close(pair[0]);
      close(pair[1]);
      return base::Fail(base::Error::Internal("socketpair: " + ec.message()));
    }
    up_.resize(16 << 10);
    down_.resize(16 << 10);
    Up();
    Down();
    thread_ = std::thread([this] {
      try {
        ioc_.run();
      } catch (const std::exception& e) {
        SetError(e.what());
      }
    });
    return pair[1];
  }

  void Stop() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Error() const override {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void SetError(const std::string& what) {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = what;
  }

  // Caller -> daemon. The caller's EOF (Connection::CloseWrite, or a close) half-closes TCP.
  void Up() {
    local_->async_read_some(asio::buffer(up_), [this](error_code ec, size_t n) {
      if (ec) {
        error_code ignored;
        tls_->next_layer().shutdown(Tcp::socket::shutdown_send, ignored);
        return;
      }
      asio::async_write(*tls_, asio::buffer(up_.data(), n), [this](error_code ec, size_t) {
        if (ec) return SetError(ec.message());  // Down sees the broken connection too
        Up();
      });
    });
  }

  // Daemon -> caller, then EOF on the caller's end.
  void Down() {
    tls_->async_read_some(asio::buffer(down_), [this](error_code ec, size_t n) {
      if (ec) {
        if (ec != asio::error::eof && ec != ssl::error::stream_truncated) SetError(ec.message());
        error_code ignored;
        local_->shutdown(Local::socket::shutdown_send, ignored);
        return;
      }
      asio::async_write(*local_, asio::buffer(down_.data(), n), [this](error_code ec, size_t) {
        if (!ec) Down();  // else the caller closed its end: nobody reads
      });
    });
  }

  asio::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_client};
  std::optional<ssl::stream<Tcp::socket>> tls_;
  std::optional<Local::socket> local_;
  std::vector<char> up_, down_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string error_;  // guarded by mu_
};

}  // namespace

std::string Where(const Endpoint& endpoint) {
  return endpoint.tcp ? endpoint.address : endpoint.socket_path;
}

base::Result<Dialed> Dial(const Endpoint& endpoint) {
  if (!endpoint.tcp) return Dialed{TRY(DialUnix(endpoint)), nullptr};
  if (!endpoint.tls) return Dialed{TRY(DialTcp(endpoint)), nullptr};
  auto tunnel = std::make_shared<TlsTunnel>();
  TRY(tunnel->Connect(endpoint));
  int fd = TRY(tunnel->Start());
  return Dialed{fd, std::move(tunnel)};
}

}  // namespace berth::client
