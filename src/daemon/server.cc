// The HTTP server: Boost.Beast over Asio, one strand per connection, handlers run inline on the
// worker threads. Responses that are deferred (slow handlers) or streamed (pulls, saves) leave
// the strand: a thread of their own computes and writes them with blocking writes while the
// connection has no asynchronous operation pending, then hands the connection back to its
// strand. So a pull never holds a worker thread, and the accept loop keeps running.
//
// TCP connections are TLS (Beast's ssl_stream over OpenSSL) and otherwise the same sessions: one
// template serves both. A hijacked TLS connection has no socket to hand over, so the session
// gives the hijack function one end of a socketpair and relays between the other end and the
// TLS stream with asynchronous operations on its strand (see Session::StartRelay).
#include "daemon/server.h"

#include <malloc.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/log.h"
#include "daemon/worker_pool.h"
#include "sys/file.h"

namespace berth::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using Local = asio::local::stream_protocol;
using Tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What Stop() needs of a session of either kind.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Router* router;
  asio::io_context ioc;
  std::optional<ssl::context> tls;  // set by Start() when there are TLS listeners
  std::vector<std::unique_ptr<Local::acceptor>> acceptors;
  std::vector<std::unique_ptr<Tcp::acceptor>> tls_acceptors;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;  // guarded by mu
  WorkerPool aside;  // runs Session::RunAside's work; Wait() waits for all of it

  void Accept(Local::acceptor* acceptor);
  void AcceptTls(Tcp::acceptor* acceptor);
  void Register(const std::shared_ptr<SessionBase>& session);
};

namespace {

http::response<http::string_body> ToBeast(Response&& r, unsigned version, bool keep_alive,
                                          bool head) {
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.insert(k, v);
  // HEAD answers carry the headers only, with Content-Length: 0 as dockerd's ping does.
  if (!head) res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}
// One connection. `Stream` is Local::socket (plain HTTP on a unix socket) or TlsStream (HTTP over
// TLS on TCP); the differences are in Start, Hijack and Close.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... Args>
  explicit Session(Server::Impl* server, Args&&... args)
      : stream_(std::forward<Args>(args)...), server_(server) {
    if constexpr (kTls) {
      beast::error_code ec;
      auto ep = Socket().remote_endpoint(ec);
      if (!ec) peer_ = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->DoRead();
      }
    });
  }

  // Closes the connection if it is waiting for a request; a request in progress is answered
  // first and the connection closed after (see OnWrite). A relayed TLS stream is cut.
  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->relaying_) return self->EndRelay(false);
      if (self->reading_ || self->closing_) {
        beast::error_code ec;
        self->Socket().cancel(ec);
      }
    });
  }

 private:
  // The TCP or unix socket under the stream.
  auto& Socket() {
    if constexpr (kTls) {
      return beast::get_lowest_layer(stream_).socket();
    } else {
      return stream_;
    }
  }

  // TLS only: the handshake, bounded by handshake_timeout so that a silent client (or one that
  // speaks plain HTTP and waits) costs a socket for a while and never a thread.
  void Handshake() {
    auto& tcp = beast::get_lowest_layer(stream_);
    tcp.expires_after(server_->options.handshake_timeout);
    reading_ = true;
    stream_.async_handshake(
        ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          self->reading_ = false;
          beast::get_lowest_layer(self->stream_).expires_never();
          if (ec) {
            if (ec != asio::error::operation_aborted)
              base::LogInfo("TLS handshake with {} failed: {}", self->peer_, ec.message());
            return self->CloseNow();
          }
          self->handshake_done_ = true;
          self->DoRead();
        });
  }

  void DoRead() {
    if (server_->stopping) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return Close();
    if (ec == http::error::body_limit) {
      return SendError(413, fmt::format("request body is larger than the limit of {} bytes",
                                        server_->options.max_body_bytes));
    }
    if (ec == http::error::header_limit) {
      return SendError(431, fmt::format("request headers are larger than the limit of {} bytes",
                                        server_->options.max_header_bytes));
    }
    if (ec == http::error::partial_message) return Close();  // the client went away mid-request
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category())
      return SendError(400, "malformed HTTP request: " + ec.message());
    if (ec) return CloseNow();  // reset and other transport errors: nobody to answer

    http::request<http::string_body> breq = parser_->release();
    Request req;
    req.method = std::string(breq.method_string());
    req.target = std::string(breq.target());
    for (const auto& field : breq)
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    req.body = std::move(breq.body());
    bool head = breq.method() == http::verb::head;
    bool keep_alive = breq.keep_alive() && !server_->stopping;
    upgrade_ = beast::iequals(breq[http::field::upgrade], "tcp");
    base::LogDebug("{} {}", req.method, req.target);
    Response res = server_->router->Handle(std::move(req));
    if (res.deferred || res.stream || res.hijack)
      return RunAside(std::move(res), breq.version(), keep_alive);
    Write(ToBeast(std::move(res), breq.version(), keep_alive, head));
  }

  // Sends one chunk per Write with a blocking write on the session's stream.
  class ChunkWriter : public BodyWriter {
   public:
    explicit ChunkWriter(Stream& stream) : stream_(stream) {}
    bool Write(std::string_view chunk) override {
      if (!ok_) return false;
      if (chunk.empty()) return true;  // an empty chunk would end the body
      beast::error_code ec;
      asio::write(stream_, http::make_chunk(asio::buffer(chunk.data(), chunk.size())), ec);
      ok_ = !ec;
      return ok_;
    }
    void Abort() override { ok_ = false; }
    bool ok() const { return ok_; }

   private:
    Stream& stream_;
    bool ok_ = true;
  };

  // Computes (deferred) and writes (streamed) `res` on a worker thread of its own; see the file
  // comment. The work guard keeps the I/O threads alive until the connection is handed back.
  void RunAside(Response res, unsigned version, bool keep_alive) {
    server_->aside.Run([self = this->shared_from_this(), res = std::move(res), version, keep_alive,
                        work = asio::make_work_guard(server_->ioc)]() mutable {
      if (res.deferred) res = res.deferred();
      bool ok = true;
      bool relayed = false;
      if (res.hijack) {
        relayed = self->Hijack(res);
        ok = false;  // the connection is closed (not shut down) below
      } else if (res.stream) {
        ok = self->WriteStream(res, version, keep_alive);
        if (res.trim_after_stream) malloc_trim(0);
      } else {
        auto b = ToBeast(std::move(res), version, keep_alive, false);
        beast::error_code ec;
        http::write(self->stream_, b, ec);
        ok = !ec;
      }
      // A relayed stream belongs to its relay, which closes the connection when it ends.
      if (!relayed) {
        asio::post(self->stream_.get_executor(), [self, ok, keep_alive] {
          if (!ok) return self->CloseNow();
          if (!keep_alive || self->server_->stopping) return self->Close();
          self->DoRead();
        });
      }
      self.reset();
      work.reset();
    });
  }

  // Writes dockerd's upgrade answer by hand (Beast has no "101 UPGRADED" reason), then hands
  // the connection to the hijack function as a blocking socket: the unix socket itself, or for
  // TLS one end of a socketpair relayed to the TLS stream. Afterwards a unix socket is closed
  // without a shutdown: the function may have passed a duplicate of it on (to a shim) that must
  // live on. Returns true when a relay now owns the connection.
  bool Hijack(Response& r) {
    std::string head = upgrade_ ? "HTTP/1.1 101 UPGRADED\r\n" : "HTTP/1.1 200 OK\r\n";
    if (!r.content_type.empty()) head += "Content-Type: " + r.content_type + "\r\n";
    for (auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    if (upgrade_) head += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
    head += "\r\n";
    beast::error_code ec;
    if constexpr (!kTls) Socket().native_non_blocking(false, ec);
    asio::write(stream_, asio::buffer(head), ec);
    if (ec) return false;
    std::string early = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    hijacked_ = true;
    if constexpr (!kTls) {
      r.hijack(Socket().native_handle(), std::move(early));
      return false;
    } else {
      int pair[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        base::LogWarn("hijack over TLS: socketpair: {}", strerror(errno));
        return false;
      }
      sys::UniqueFd theirs(pair[1]);
      // Nothing of this session is pending on its strand while it runs aside, so the relay's
      // socket can be set up here; the post orders it before the relay's first operation.
      relay_.emplace(stream_.get_executor());
      relay_->assign(Local(), pair[0], ec);
      if (ec) {
        close(pair[0]);
        return false;
      }
      asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->StartRelay(); });
      r.hijack(theirs.get(), std::move(early));
      return true;
    }
  }

  // TLS hijack relay, on the strand: client -> relay_ (decrypted stdin) and relay_ -> client
  // (output, encrypted), at most one read and one write in flight on the TLS stream. The
  // client's end of stdin (close_notify, or a TCP half-close without one as older docker CLIs
  // send) becomes shutdown(SHUT_WR) of relay_, which the hijack function sees as EOF, as it
  // would see the client's shutdown on a unix socket. The end of output (every holder of the
  // other end closed it) becomes the end of the connection.
  void StartRelay() {
    relaying_ = true;
    in_buf_.resize(16 << 10);
    out_buf_.resize(16 << 10);
    RelayIn();
    RelayOut();
  }

  void RelayIn() {
    stream_.async_read_some(
        asio::buffer(in_buf_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          if (!self->relaying_) return;
          if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
            self->in_done_ = true;
            beast::error_code ignored;
            self->relay_->shutdown(Local::socket::shutdown_send, ignored);
            if (self->out_done_) self->EndRelay(true);
            return;
          }
          if (ec) return self->EndRelay(false);  // reset, or a TLS error
          if (self->in_discard_) return self->RelayIn();
          asio::async_write(*self->relay_, asio::buffer(self->in_buf_.data(), n),
                            [self](beast::error_code ec, size_t) {
                              if (!self->relaying_) return;
                              // Nobody reads stdin any more (the process exited): drop the
                              // rest; output may still follow.
                              if (ec) self->in_discard_ = true;
                              self->RelayIn();
                            });
        });
  }

  void RelayOut() {
    relay_->async_read_some(
        asio::buffer(out_buf_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          if (!self->relaying_) return;
          if (ec) {
            self->out_done_ = true;
            if (ec != asio::error::eof || self->in_done_) return self->EndRelay(self->in_done_);
            // The client still sends: end our direction only, so that it reads EOF after the
            // last byte rather than a reset, and give it a while to hang up.
            beast::error_code ignored;
            self->Socket().shutdown(Tcp::socket::shutdown_send, ignored);
            self->linger_.emplace(self->stream_.get_executor());
            self->linger_->expires_after(std::chrono::seconds(10));
            self->linger_->async_wait([self](beast::error_code ec) {
              if (!ec && self->relaying_) self->EndRelay(false);
            });
            return;
          }
          asio::async_write(self->stream_, asio::buffer(self->out_buf_.data(), n),
                            [self](beast::error_code ec, size_t) {
                              if (!self->relaying_) return;
                              if (ec) return self->EndRelay(false);  // the client is gone
                              self->RelayOut();
                            });
        });
  }

  // Ends a relay; `graceful` (no read pending on the TLS stream) closes it with close_notify.
  void EndRelay(bool graceful) {
    relaying_ = false;
    beast::error_code ec;
    if (relay_) relay_->close(ec);
    if (linger_) linger_->cancel();
    if (graceful) return Close();
    CloseNow();
  }

  bool WriteStream(Response& r, unsigned version, bool keep_alive) {
    http::response<http::empty_body> head;
    head.version(version);
    head.result(static_cast<unsigned>(r.status));
    if (!r.content_type.empty()) head.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) head.insert(k, v);
    head.keep_alive(keep_alive);
    head.chunked(true);
    http::response_serializer<http::empty_body> sr(head);
    beast::error_code ec;
    http::write_header(stream_, sr, ec);
    if (ec) return false;
    ChunkWriter writer(stream_);
    r.stream(writer);
    if (!writer.ok()) return false;
    asio::write(stream_, http::make_chunk_last(), ec);
    return !ec;
  }

  // Answers a request the parser refused, then closes: the stream position is unknown.
  void SendError(int status, std::string_view message) {
    base::LogDebug("refusing request: {} {}", status, message);
    Response r = Response::ErrorMessage(status, message);
    AddCommonHeaders(r);
    Write(ToBeast(std::move(r), 11, false, false));
  }

  void Write(http::response<http::string_body>&& res) {
    res_ = std::move(res);
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->CloseNow();
                        if (!self->res_.keep_alive()) return self->Close();
                        self->DoRead();
                      });
  }

  // Ends a connection whose stream is in order: the peer sees EOF after our last response
  // (for TLS, a close_notify first, waiting a little for the peer's).
  void Close() {
    if constexpr (kTls) {
      if (!handshake_done_ || closing_ || server_->stopping) return CloseNow();
      closing_ = true;
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ec;
      if (!hijacked_) Socket().shutdown(Local::socket::shutdown_send, ec);
      Socket().close(ec);
    }
  }

  // Ends a connection at once (broken, timed out, or stopping).
  void CloseNow() {
    beast::error_code ec;
    if constexpr (kTls) {
      Socket().close(ec);
    } else {
      Close();
    }
  }

  Stream stream_;
  Server::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool reading_ = false;
  bool upgrade_ = false;   // the request asked for "Upgrade: tcp"
  bool hijacked_ = false;  // the connection was handed to a hijack function
  // TLS only.
  std::string peer_;  // "address:port", for logs
  bool handshake_done_ = false;
  bool closing_ = false;  // a close_notify exchange is under way
  // The relay of a hijacked TLS connection (see StartRelay).
  std::optional<Local::socket> relay_;
  std::optional<asio::steady_timer> linger_;
  bool relaying_ = false;
  bool in_done_ = false;                // the client ended its stdin
  bool out_done_ = false;               // the output ended
  bool in_discard_ = false;             // the hijack function stopped reading stdin
  std::vector<char> in_buf_, out_buf_;  // sized by StartRelay
};

// The TLS context of the TCP listeners: TLS 1.2 or later, the server's certificate, and client
// certificates required and verified against the CA file (verify_peer |
// verify_fail_if_no_peer_cert, as Go's tls.RequireAndVerifyClientCert that dockerd uses).
base::Status LoadTlsContext(ssl::context& ctx, const ServerTlsFiles& files) {
  auto read = [](const std::string& path, std::string_view what) -> base::Result<std::string> {
    if (path.empty())
      return base::Fail(base::Error::InvalidArgument(fmt::format("TLS: no {} file given", what)));
    auto text = sys::ReadFile(path);
    if (!text) return base::Fail(std::move(text.error()).Context(fmt::format("TLS {}", what)));
    return text;
  };
  auto bad = [](std::string_view what, const std::string& path, const beast::error_code& ec) {
    return base::Fail(base::Error::InvalidArgument(
        fmt::format("TLS {} {}: {}", what, path, ec ? ec.message() : "no PEM data")));
  };
  std::string ca = TRY(read(files.ca_cert, "CA certificate"));
  std::string cert = TRY(read(files.cert, "certificate"));
  std::string key = TRY(read(files.key, "key"));
  beast::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use,
                  ec);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (ctx.use_certificate_chain(asio::buffer(cert), ec); ec)
    return bad("certificate", files.cert, ec);
  if (ctx.use_private_key(asio::buffer(key), ssl::context::pem, ec); ec)
    return bad("key", files.key, ec);
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return base::Fail(base::Error::InvalidArgument(
        fmt::format("TLS key {} does not belong to the certificate {}", files.key, files.cert)));
  if (ctx.add_certificate_authority(asio::buffer(ca), ec); ec)
    return bad("CA certificate", files.ca_cert, ec);
  // Tells clients which CAs we accept, so that one with several certificates picks the right one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_cert.c_str()))
    SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  // Resumed sessions with client verification fail without a session id context.
  static constexpr unsigned char kSessionContext[] = "berthd";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  return {};
}

}  // namespace

base::Status ValidateTlsFiles(const ServerTlsFiles& files) {
  ssl::context ctx(ssl::context::tls_server);
  return LoadTlsContext(ctx, files);
}

void Server::Impl::Register(const std::shared_ptr<SessionBase>& session) {
  std::lock_guard lock(mu);
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  sessions.push_back(session);
}

void Server::Impl::Accept(Local::acceptor* acceptor) {
  acceptor->async_accept(
      asio::make_strand(ioc), [this, acceptor](beast::error_code ec, Local::socket socket) {
        if (ec == asio::error::operation_aborted || stopping) return;
        if (ec) {
          // EMFILE and friends: the listening socket is still good, so keep
          // accepting.
          base::LogWarn("accept: {}", ec.message());
        } else {
          auto session = std::make_shared<Session<Local::socket>>(this, std::move(socket));
          Register(session);
          session->Start();
        }
        Accept(acceptor);
      });
}

void Server::Impl::AcceptTls(Tcp::acceptor* acceptor) {
  acceptor->async_accept(asio::make_strand(ioc),
                         [this, acceptor](beast::error_code ec, Tcp::socket socket) {
                           if (ec == asio::error::operation_aborted || stopping) return;
                           if (ec) {
                             base::LogWarn("accept: {}", ec.message());
                           } else {
                             // Attach and exec streams carry keystrokes: no Nagle delay.
                             socket.set_option(Tcp::no_delay(true), ec);
                             auto session = std::make_shared<Session<TlsStream>>(
                                 this, beast::tcp_stream(std::move(socket)), *tls);
                             Register(session);
                             session->Start();
                           }
                           AcceptTls(acceptor);
                         });
}

Server::Server(ServerOptions options, const Router* router) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->router = router;
}

Server::~Server() {
  Stop();
  Wait();
}

base::Status Server::Start() {
  if (!impl_->options.tls_listeners.empty()) {
    impl_->tls.emplace(ssl::context::tls_server);
    TRY(LoadTlsContext(*impl_->tls, impl_->options.tls));
  }
  for (sys::UniqueFd& fd : impl_->options.listeners) {
    // Each acceptor lives on its own strand so that Stop()'s close never races an accept.
    auto acceptor = std::make_unique<Local::acceptor>(asio::make_strand(impl_->ioc));
    beast::error_code ec;
    acceptor->assign(Local(), fd.get(), ec);
    if (ec) return base::Fail(base::Error::Internal("adopt listening socket: " + ec.message()));
    fd.Release();
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (sys::UniqueFd& fd : impl_->options.tls_listeners) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return base::Fail(base::Error::FromErrno(errno, "getsockname of a TCP listener"));
    auto acceptor = std::make_unique<Tcp::acceptor>(asio::make_strand(impl_->ioc));
    beast::error_code ec;
    acceptor->assign(addr.ss_family == AF_INET6 ? Tcp::v6() : Tcp::v4(), fd.get(), ec);
    if (ec) return base::Fail(base::Error::Internal("adopt listening socket: " + ec.message()));
    fd.Release();
    impl_->tls_acceptors.push_back(std::move(acceptor));
  }
  for (auto& acceptor : impl_->acceptors) impl_->Accept(acceptor.get());
  for (auto& acceptor : impl_->tls_acceptors) impl_->AcceptTls(acceptor.get());
  int n = std::max(1, impl_->options.threads);
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      try {
        impl->ioc.run();
      } catch (const std::exception& e) {
        base::LogError("server thread: {}", e.what());
      }
    });
  }
  return {};
}

void Server::Stop() {
  if (impl_->stopping.exchange(true)) return;
  auto close_acceptor = [](auto& acceptor) {
    asio::post(acceptor->get_executor(), [a = acceptor.get()] {
      beast::error_code ec;
      a->close(ec);
    });
  };
  for (auto& acceptor : impl_->acceptors) close_acceptor(acceptor);
  for (auto& acceptor : impl_->tls_acceptors) close_acceptor(acceptor);
  std::lock_guard lock(impl_->mu);
  for (auto& w : impl_->sessions)
    if (auto s = w.lock()) s->CloseIfIdle();
}

void Server::Wait() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  impl_->aside.Shutdown();
}

}  // namespace berth::daemon
