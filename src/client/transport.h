// Transport of the client: opens a byte stream to the daemon and returns it as a socket fd,
// whatever the endpoint. A unix or plain TCP endpoint is the connected socket itself; a TLS one
// is one end of a socketpair whose other end a Tunnel relays to the TLS connection on a thread of
// its own. So the HTTP code above (Beast for whole responses, poll(2) for hijacked streams)
// never knows about TLS.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "client/client.h"

namespace berth::client {

// Relays between a socketpair end and a TLS connection. shutdown(SHUT_WR) of the caller's end
// becomes a TCP half-close towards the daemon (which takes it as the end of stdin, as dockerd
// does), and the daemon's end of the stream (close_notify or EOF) becomes EOF on the caller's
// end. Thread-safety: Error() from any thread; Stop() from one.
class Tunnel {
 public:
  virtual ~Tunnel() = default;
  // Ends the relay at once and joins its thread. Call after closing the caller's end.
  virtual void Stop() = 0;
  // Why the TLS connection failed after the handshake (the daemon refused our certificate,
  // which TLS 1.3 reports only then), or "" when it did not.
  virtual std::string Error() const = 0;
};

struct Dialed {
  int fd = -1;                     // owned by the caller; close-on-exec, blocking
  std::shared_ptr<Tunnel> tunnel;  // TLS only: keep it until fd is closed, then Stop() it
};

// Connects to `endpoint`. Failures to reach it are kUnavailable "connect: REASON (ADDRESS)"
// (what cli::IsConnectError recognises); TLS failures (unreadable files, the handshake) are
// kUnavailable "error during connect: ...", as the docker CLI words them.
base::Result<Dialed> Dial(const Endpoint& endpoint);

// "(ADDRESS)" suffix of transport errors: the socket path for unix, else the address.
std::string Where(const Endpoint& endpoint);

}  // namespace berth::client
