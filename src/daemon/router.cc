// Route matching and API version negotiation.
#include "daemon/router.h"

#include <fmt/format.h>

#include "base/strings.h"
#include "daemon/query.h"

namespace berth::daemon {
namespace {

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool IsGreedy(const std::string& segment) { return IsParam(segment) && segment.ends_with("*}"); }

std::string ParamName(const std::string& segment) {
  return segment.substr(1, segment.size() - (IsGreedy(segment) ? 3 : 2));
}

// Matches `path` against a route's segments, filling `params`.
bool Match(const std::vector<std::string>& route, const std::vector<std::string>& path,
           std::map<std::string, std::string>& params) {
  size_t greedy = route.size();
  for (size_t i = 0; i < route.size(); ++i)
    if (IsGreedy(route[i])) greedy = i;
  if (greedy == route.size() ? path.size() != route.size() : path.size() < route.size())
    return false;
  auto one = [&](const std::string& r, const std::string& p) {
    if (!IsParam(r)) return r == p;
    params[ParamName(r)] = PercentDecode(p, false);
    return true;
  };
  size_t head = std::min(greedy, route.size());
  for (size_t i = 0; i < head; ++i)
    if (!one(route[i], path[i])) return false;
  if (greedy == route.size()) return true;
  size_t tail = route.size() - greedy - 1;
  for (size_t i = 0; i < tail; ++i)
    if (!one(route[route.size() - 1 - i], path[path.size() - 1 - i])) return false;
  std::vector<std::string> middle(path.begin() + greedy, path.end() - tail);
  params[ParamName(route[greedy])] = PercentDecode(base::Join(middle, "/"), false);
  return true;
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
    std::map<std::string, std::string> p;
    bool ok = Match(route.segments, segments, p);
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
    if (res.deferred) {
      res.deferred = [fn = std::move(res.deferred)] {
        Response d = fn();
        AddCommonHeaders(d);
        return d;
      };
      return res;
    }
  }
  AddCommonHeaders(res);
  return res;
}

}  // namespace berth::daemon
