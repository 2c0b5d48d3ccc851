// Route matching and API version negotiation.
#include "daemon/router.h"

#include <fmt/format.h>

#include "base/strings.h"

namespace berth::daemon {
namespace {

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "/vX.Y/rest" into the version and "/rest". A "/v..." that is not a well-formed version
// is left in the path, so it simply matches no route, as with dockerd's "/v{version:[0-9.]+}".
void StripVersion(Request& req) {
  const std::string& p = req.path;
  if (p.size() < 3 || p[0] != '/' || p[1] != 'v') return;
  size_t slash = p.find('/', 2);
  std::string_view v =
      std::string_view(p).substr(2, slash == std::string::npos ? p.npos : slash - 2);
  auto version = api::ParseApiVersion(v);
  if (!version) return;
  req.version = version;
  req.path = slash == std::string::npos ? "/" : p.substr(slash);
}

}  // namespace

void Router::Add(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), base::SplitNonEmpty(path, '/'), std::move(handler)});
}

Response Router::Handle(Request req) const {
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  StripVersion(req);

  std::vector<std::string> segments = base::SplitNonEmpty(req.path, '/');
  const Route* match = nullptr;
  bool path_known = false;
  std::map<std::string, std::string> params;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> p;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      if (IsParam(route.segments[i]))
        p[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
      else
        ok = route.segments[i] == segments[i];
    }
    if (!ok) continue;
    path_known = true;
    if (route.method == req.method) {
      match = &route;
      params = std::move(p);
      break;
    }
  }

  Response res;
  if (match == nullptr) {
    res = path_known ? Response::ErrorMessage(405, "method not allowed")
                     : Response::ErrorMessage(404, "page not found");
  } else if (req.version && *req.version > api::MaxApiVersion()) {
    res = Response::ErrorMessage(
        400, fmt::format("client version {} is too new. Maximum supported API version is {}",
                         api::FormatApiVersion(*req.version), api::kApiVersion));
  } else if (req.version && *req.version < api::MinApiVersion()) {
    res = Response::ErrorMessage(
        400, fmt::format("client version {} is too old. Minimum supported API version is {}, "
                         "please upgrade your client to a newer version",
                         api::FormatApiVersion(*req.version), api::kMinApiVersion));
  } else {
    req.params = std::move(params);
    base::Result<Response> r = match->handler(req);
    res = r ? std::move(*r) : Response::FromError(r.error());
  }
  AddCommonHeaders(res);
  return res;
}

}  // namespace berth::daemon
