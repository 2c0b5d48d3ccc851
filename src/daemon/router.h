// Router: maps (method, path) to a handler after stripping and checking the "/vX.Y" API version
// prefix, the way dockerd's mux and version middleware do. Paths may contain "{name}" segments,
// each matching one non-empty path segment, and at most one "{name*}" segment, matching one or
// more segments joined by '/' (image names: "/images/{name*}/json" matches
// "/images/localhost:5000/a/b:t/json"), with the fixed segments around it matched from both
// ends. Parameters are percent-decoded.
//
// Thread-safety: Add() during setup only; Handle() may then be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/http.h"

namespace berth::daemon {

// Handlers return the response, or an error the router turns into {"message"} via
// HttpStatusFor(). They must not throw.
using Handler = std::function<base::Result<Response>(Request&)>;

class Router {
 public:
  // `method` is "GET", "POST", ...; a GET route does not answer HEAD unless added for HEAD too.
  // Routes are tried in the order added: add fixed paths ("/images/json") before greedy ones.
  void Add(std::string method, std::string path, Handler handler);

  // Answers any request: 404 {"message":"page not found"} for unknown paths, 405 for a known
  // path with another method, 400 for an API version outside [kMinApiVersion, kApiVersion].
  // Always adds AddCommonHeaders().
  // A deferred response gets the common headers and error mapping when it is computed.
  Response Handle(Request request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace berth::daemon
