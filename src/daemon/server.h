// Server: HTTP/1.1 over listening unix sockets, answering every request through a Router.
// Keep-alive, request size limits, and a graceful stop. Beast stays inside server.cc.
//
// Thread-safety: Start() once; Stop() from any thread (including a signal-waiting thread), any
// number of times; Wait() from one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "base/result.h"
#include "daemon/router.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

struct ServerOptions {
  std::vector<sys::UniqueFd> listeners;  // listening unix stream sockets; the server owns them
  int threads = 4;
  // Larger bodies get 413; larger request heads get 431. Both then close the connection.
  size_t max_body_bytes = 64 << 20;
  size_t max_header_bytes = 1 << 20;
};

class Server {
 public:
  // `router` must outlive the server.
  Server(ServerOptions options, const Router* router);
  ~Server();  // Stop() and Wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting on the worker threads.
  base::Status Start();
  // Stops accepting and closes idle connections; requests being handled are answered first.
  void Stop();
  // Returns when every connection has closed and the threads have exited.
  void Wait();

  struct Impl;  // opaque; public only so that server.cc's connection type can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::daemon
