// The HTTP server: Boost.Beast over Asio, one strand per connection, handlers run inline on the
// worker threads. Responses that are deferred (slow handlers) or streamed (pulls, saves) leave
// the strand: a thread of their own computes and writes them with blocking writes while the
// connection has no asynchronous operation pending, then hands the connection back to its
// strand. So a pull never holds a worker thread, and the accept loop keeps running.
#include "daemon/server.h"

#include <malloc.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace berth::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;

class Session;

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Router* router;
  asio::io_context ioc;
  std::vector<std::unique_ptr<Local::acceptor>> acceptors;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::vector<std::weak_ptr<Session>> sessions;  // guarded by mu
  int aside_threads = 0;                         // guarded by mu; see Session::RunAside
  std::condition_variable aside_done;

  void Accept(Local::acceptor* acceptor);
  void Register(const std::shared_ptr<Session>& session);
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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Local::socket socket, Server::Impl* server)
      : socket_(std::move(socket)), server_(server) {}

  void Start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

  // Closes the connection if it is waiting for a request; a request in progress is answered
  // first and the connection closed after (see OnWrite).
  void CloseIfIdle() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->reading_) {
        beast::error_code ec;
        self->socket_.cancel(ec);
      }
    });
  }

 private:
  void DoRead() {
    if (server_->stopping) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    reading_ = true;
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
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
    if (ec) return Close();  // reset and other transport errors: nobody to answer

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

  // Sends one chunk per Write with a blocking write on the session's socket.
  class ChunkWriter : public BodyWriter {
   public:
    explicit ChunkWriter(Local::socket& socket) : socket_(socket) {}
    bool Write(std::string_view chunk) override {
      if (!ok_) return false;
      if (chunk.empty()) return true;  // an empty chunk would end the body
      beast::error_code ec;
      asio::write(socket_, http::make_chunk(asio::buffer(chunk.data(), chunk.size())), ec);
      ok_ = !ec;
      return ok_;
    }
    void Abort() override { ok_ = false; }
    bool ok() const { return ok_; }

   private:
    Local::socket& socket_;
    bool ok_ = true;
  };

  // Computes (deferred) and writes (streamed) `res` on a thread of its own; see the file
  // comment. The work guard keeps the I/O threads alive until the connection is handed back.
  void RunAside(Response res, unsigned version, bool keep_alive) {
    {
      std::lock_guard lock(server_->mu);
      ++server_->aside_threads;
    }
    std::thread([self = shared_from_this(), impl = server_, res = std::move(res), version,
                 keep_alive, work = asio::make_work_guard(server_->ioc)]() mutable {
      if (res.deferred) res = res.deferred();
      bool ok = true;
      if (res.hijack) {
        self->Hijack(res);
        ok = false;  // the connection is closed (not shut down) below
      } else if (res.stream) {
        ok = self->WriteStream(res, version, keep_alive);
        // Streams are the pulls, loads, saves and imports: megabytes of buffers that the
        // allocator would otherwise keep for good.
        malloc_trim(0);
      } else {
        auto b = ToBeast(std::move(res), version, keep_alive, false);
        beast::error_code ec;
        http::write(self->socket_, b, ec);
        ok = !ec;
      }
      asio::post(self->socket_.get_executor(), [self, ok, keep_alive] {
        if (!ok || !keep_alive || self->server_->stopping) return self->Close();
        self->DoRead();
      });
      self.reset();
      work.reset();
      std::lock_guard lock(impl->mu);
      --impl->aside_threads;
      impl->aside_done.notify_all();
    }).detach();
  }

  // Writes dockerd's upgrade answer by hand (Beast has no "101 UPGRADED" reason), then hands
  // the blocking socket to the hijack function. Afterwards the socket is closed without a
  // shutdown: the function may have passed a duplicate of it on (to a shim) that must live on.
  void Hijack(Response& r) {
    std::string head = upgrade_ ? "HTTP/1.1 101 UPGRADED\r\n" : "HTTP/1.1 200 OK\r\n";
    if (!r.content_type.empty()) head += "Content-Type: " + r.content_type + "\r\n";
    for (auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    if (upgrade_) head += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
    head += "\r\n";
    beast::error_code ec;
    socket_.native_non_blocking(false, ec);
    asio::write(socket_, asio::buffer(head), ec);
    if (ec) return;
    std::string early = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    hijacked_ = true;
    r.hijack(socket_.native_handle(), std::move(early));
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
    http::write_header(socket_, sr, ec);
    if (ec) return false;
    ChunkWriter writer(socket_);
    r.stream(writer);
    if (!writer.ok()) return false;
    asio::write(socket_, http::make_chunk_last(), ec);
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
    http::async_write(socket_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->res_.keep_alive()) return self->Close();
      self->DoRead();
    });
  }

  void Close() {
    beast::error_code ec;
    // shutdown first so that the peer sees EOF after our last response.
    if (!hijacked_) socket_.shutdown(Local::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  Local::socket socket_;
  Server::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool reading_ = false;
  bool upgrade_ = false;   // the request asked for "Upgrade: tcp"
  bool hijacked_ = false;  // the socket was handed to a hijack function
};

}  // namespace

void Server::Impl::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu);
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  sessions.push_back(session);
}

void Server::Impl::Accept(Local::acceptor* acceptor) {
  acceptor->async_accept(asio::make_strand(ioc),
                         [this, acceptor](beast::error_code ec, Local::socket socket) {
                           if (ec == asio::error::operation_aborted || stopping) return;
                           if (ec) {
                             // EMFILE and friends: the listening socket is still good, so keep
                             // accepting.
                             base::LogWarn("accept: {}", ec.message());
                           } else {
                             auto session = std::make_shared<Session>(std::move(socket), this);
                             Register(session);
                             session->Start();
                           }
                           Accept(acceptor);
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
  for (sys::UniqueFd& fd : impl_->options.listeners) {
    // Each acceptor lives on its own strand so that Stop()'s close never races an accept.
    auto acceptor = std::make_unique<Local::acceptor>(asio::make_strand(impl_->ioc));
    beast::error_code ec;
    acceptor->assign(Local(), fd.get(), ec);
    if (ec) return base::Fail(base::Error::Internal("adopt listening socket: " + ec.message()));
    fd.Release();
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (auto& acceptor : impl_->acceptors) impl_->Accept(acceptor.get());
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
  for (auto& acceptor : impl_->acceptors) {
    asio::post(acceptor->get_executor(), [a = acceptor.get()] {
      beast::error_code ec;
      a->close(ec);
    });
  }
  std::lock_guard lock(impl_->mu);
  for (auto& w : impl_->sessions)
    if (auto s = w.lock()) s->CloseIfIdle();
}

void Server::Wait() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  std::unique_lock lock(impl_->mu);
  impl_->aside_done.wait(lock, [this] { return impl_->aside_threads == 0; });
}

}  // namespace berth::daemon
