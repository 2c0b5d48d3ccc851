// Request/Response helpers and the error-class -> HTTP status mapping.
#include "daemon/http.h"

#include <strings.h>

#include "api/build_info.h"
#include "api/system.h"

namespace berth::daemon {

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::ErrorMessage(int status, std::string_view message) {
  return Json(status, api::EncodeJson(api::ErrorResponse{std::string(message)}));
}

Response Response::FromError(const base::Error& error) {
  return ErrorMessage(HttpStatusFor(error.code()), error.message());
}

Response Response::JsonStream(StreamFn fn, bool trim_after_stream) {
  Response r = Json(200, "");
  r.stream = std::move(fn);
  r.trim_after_stream = trim_after_stream;
  return r;
}

Response Response::Deferred(DeferredFn fn) {
  Response r;
  r.deferred = std::move(fn);
  return r;
}

Response Response::Hijack(std::string content_type, HijackFn fn) {
  Response r;
  r.status = 200;
  r.content_type = std::move(content_type);
  r.hijack = std::move(fn);
  return r;
}

int HttpStatusFor(base::ErrorCode code) {
  switch (code) {
    case base::ErrorCode::kNotFound:
      return 404;
    case base::ErrorCode::kAlreadyExists:
    case base::ErrorCode::kConflict:
      return 409;
    case base::ErrorCode::kInvalidArgument:
      return 400;
    case base::ErrorCode::kPermissionDenied:
      return 403;
    case base::ErrorCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string ServerHeader() {
  return "Berth/" + std::string(api::GetBuildInfo().version) + " (linux)";
}

void AddCommonHeaders(Response& response) {
  response.headers.emplace_back("Api-Version", std::string(api::kApiVersion));
  response.headers.emplace_back("Docker-Experimental", "false");
  response.headers.emplace_back("Ostype", "linux");
  response.headers.emplace_back("Server", ServerHeader());
}

}  // namespace berth::daemon
