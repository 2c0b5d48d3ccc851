// Server: HTTP/1.1 over listening unix sockets, and over TLS on listening TCP sockets, answering
// every request through a Router. Keep-alive, request size limits, and a graceful stop. Beast and
// OpenSSL stay inside server.cc.
//
// Thread-safety: Start() once; Stop() from any thread (including a signal-waiting thread), any
// number of times; Wait() from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/router.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

// PEM files of the TLS listeners.
struct ServerTlsFiles {
  std::string ca_cert;  // client certificates must chain to a CA in this file
  std::string cert;     // the server's certificate, followed by its intermediates
  std::string key;      // the server certificate's private key
};

struct ServerOptions {
  std::vector<sys::UniqueFd> listeners;  // listening unix stream sockets; the server owns them
  // Listening TCP sockets (owned too). Every connection first completes a TLS 1.2+ handshake in
  // which the client presents a certificate that chains to tls.ca_cert; a client without one,
  // with another CA's, speaking plain HTTP or silent past handshake_timeout is dropped (logged at
  // info). Hijacked streams (attach, exec) reach their HijackFn as a plain socket all the same.
  std::vector<sys::UniqueFd> tls_listeners;
  ServerTlsFiles tls;  // read by Start() when tls_listeners is not empty
  std::chrono::milliseconds handshake_timeout{10000};
  int threads = 4;
  // Larger bodies get 413; larger request heads get 431. Both then close the connection.
  size_t max_body_bytes = 64 << 20;
  size_t max_header_bytes = 1 << 20;
};

// Reads the files and checks that they make a working TLS server context (the key matches the
// certificate, the CA file holds certificates): what Start() would report, before any listener
// is opened.
base::Status ValidateTlsFiles(const ServerTlsFiles& files);

class Server {
 public:
  // `router` must outlive the server.
  Server(ServerOptions options, const Router* router);
  ~Server();  // Stop() and Wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting on the worker threads. Unreadable or mismatched TLS files are
  // kInvalidArgument (or the read's error) naming the file.
  base::Status Start();
  // Stops accepting and closes idle connections; requests being handled are answered first.
  // Hijacked streams over TLS (which the server relays) are cut.
  void Stop();
  // Returns when every connection has closed and the threads have exited.
  void Wait();

  struct Impl;  // opaque; public only so that server.cc's connection type can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::daemon
