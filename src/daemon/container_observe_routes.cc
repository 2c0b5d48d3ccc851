// Routes that watch containers: logs (json-file), top, stats, events.
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "daemon/container_internal.h"
#include "daemon/query.h"
#include "sys/file.h"

namespace berth::daemon {
namespace {

using nlohmann::json;

Response Logs(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  bool want_out = q.Bool("stdout"), want_err = q.Bool("stderr");
  if (!want_out && !want_err)
    return Response::ErrorMessage(400, "Bad parameters: you must choose at least one stream");
  std::string text = sys::ReadFile(PathsOf(ctx, rec->id).log).value_or("");
  std::string body;
  for (const std::string& line : base::SplitNonEmpty(text, '\n')) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    std::string stream = j.value("stream", "stdout");
    bool is_err = stream == "stderr";
    if (is_err ? !want_err : !want_out) continue;
    std::string payload = j.value("log", "");
    if (rec->tty) {
      body += payload;
      continue;
    }
    uint32_t n = uint32_t(payload.size());
    char header[8] = {char(is_err ? 2 : 1), 0,      0, 0, char(n >> 24), char(n >> 16),
                      char(n >> 8),         char(n)};
    body.append(header, 8);
    body += payload;
  }
  Response r = Response::Text(200, std::move(body));
  r.content_type =
      rec->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  return r;
}
}  // namespace

void AddObserveRoutes(Router& router, ContainerContext* ctx) {
  router.Add("GET", "/containers/{id}/logs", [ctx](Request& req) -> base::Result<Response> {
    return Logs(ctx, req.params["id"], Query(req.query));
  });
}

}  // namespace berth::daemon
