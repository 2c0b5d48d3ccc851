// Test helper: a minimal HTTP/1.1 server on a loopback address that answers each request
// through a handler, one connection at a time, closing the connection after each answer. It
// stands in for registries and token servers whose behaviour a real registry will not show
// (Bearer auth, dropped connections, ignored Range, redirects to another host).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace berth::registry::fakes {

struct FakeRequest {
  std::string method;
  std::string path;                            // without the query
  std::string query;                           // after '?', undecoded
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Close the connection after this many body bytes (Content-Length still announces all of
  // them): a dropped transfer. -1 sends everything.
  int64_t truncate_at = -1;
};

class FakeServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  // Listens on `address`:<free port>; check ok() before use.
  explicit FakeServer(Handler handler, const std::string& address = "127.0.0.1");
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  bool ok() const { return fd_ >= 0; }
  int port() const { return port_; }
  // "127.0.0.1:<port>"
  std::string authority() const { return address_ + ":" + std::to_string(port_); }
  std::string url() const { return "http://" + authority(); }
  std::vector<FakeRequest> requests() const;

 private:
  void Serve();
  void HandleConnection(int conn);

  Handler handler_;
  std::string address_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort();

}  // namespace berth::registry::fakes
