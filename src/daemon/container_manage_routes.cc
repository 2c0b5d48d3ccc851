// Routes that change a container's standing: pause/unpause (the runtime library's freezer),
// rename, restart, update (cgroup limits through the runtime library, kept in the stored create
// request and the bundle) and prune. Each publishes its event as dockerd does.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "daemon/container_internal.h"
#include "daemon/log_select.h"
#include "daemon/query.h"
#include "daemon/spec/create_request.h"
#include "runtime/container.h"
#include "sys/file.h"

namespace berth::daemon {
namespace {

using base::Error;
using base::Fail;
using nlohmann::json;

runtime::Runtime RuntimeFor(const ContainerContext* ctx, const std::string& id) {
  return runtime::Runtime(runtime::RuntimeOptions{PathsOf(ctx, id).runtime_root, false});
}

// ---- pause / unpause ----

Response Pause(ContainerContext* ctx, const std::string& name, bool pause) {
  auto found = FindFresh(ctx, name);
  if (!found) return Response::FromError(found.error());
  std::string id = found->id;
  return Response::Deferred([ctx, id, pause]() -> Response {
    auto lock = ctx->containers->OpLock(id);
    std::lock_guard guard(*lock);
    auto rec = FindFresh(ctx, id);
    if (!rec) return Response::FromError(rec.error());
    if (pause) {
      if (rec->state.status != "running")
        return Response::ErrorMessage(409, fmt::format("Container {} is not running", id));
      if (rec->state.paused)
        return Response::ErrorMessage(409, fmt::format("Container {} is already paused", id));
      if (auto st = RuntimeFor(ctx, id).Pause(id); !st)
        return Response::ErrorMessage(
            HttpStatusFor(st.error().code()),
            fmt::format("Cannot pause container {}: {}", id, st.error().message()));
    } else {
      // dockerd answers 500 here (a plain error), not 409.
      if (rec->state.status != "running" || !rec->state.paused)
        return Response::ErrorMessage(500, fmt::format("Container {} is not paused", id));
      if (auto st = RuntimeFor(ctx, id).Resume(id); !st)
        return Response::ErrorMessage(
            HttpStatusFor(st.error().code()),
            fmt::format("Cannot unpause container {}: {}", id, st.error().message()));
    }
    rec->state.paused = pause;
    if (auto st = ctx->containers->Update(*rec); !st) return Response::FromError(st.error());
    PublishContainerEvent(ctx, *rec, pause ? "pause" : "unpause");
    return Response::Text(204, "");
  });
}

// ---- rename ----

bool ValidContainerName(std::string_view n) {
  if (n.size() < 2) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

Response Rename(ContainerContext* ctx, const std::string& name, const Query& q) {
  std::string new_name = q.Get("name");
  if (name.empty() || new_name.empty())
    return Response::ErrorMessage(400, "Neither old nor new names may be empty");
  if (base::StartsWith(new_name, "/")) new_name = new_name.substr(1);
  auto rec = ctx->containers->Find(name);
  if (!rec) return Response::FromError(rec.error());
  if (!ValidContainerName(new_name))
    return Response::ErrorMessage(
        400, fmt::format("Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                         new_name));
  if (rec->name == new_name)
    return Response::ErrorMessage(400,
                                  "Renaming a container with the same name as its current name");
  auto lock = ctx->containers->OpLock(rec->id);
  std::lock_guard guard(*lock);
  std::string old_name = rec->name;
  if (auto st = ctx->containers->Rename(rec->id, new_name); !st)
    return Response::FromError(st.error());
  rec->name = new_name;
  PublishContainerEvent(ctx, *rec, "rename", {{"oldName", "/" + old_name}});
  return Response::Text(204, "");
}

// ---- restart ----

Response Restart(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  spec::CreateRequest cr = spec::ParseCreateRequest(rec->request).value_or(spec::CreateRequest{});
  std::string signal = cr.config.stop_signal.empty() ? "TERM" : cr.config.stop_signal;
  int timeout = cr.config.stop_timeout.value_or(10);
  if (std::string t = q.Get("t"); !t.empty()) {
    auto v = base::ParseInt(t);
    if (!v) return Response::ErrorMessage(400, "invalid value for t: " + t);
    timeout = int(*v);
  }
  return Response::Deferred([ctx, id = rec->id, signal, timeout]() -> Response {
    {
      auto lock = ctx->containers->OpLock(id);
      std::lock_guard guard(*lock);
      auto now = FindFresh(ctx, id);
      if (!now) return Response::FromError(now.error());
      if (now->state.status == "running") {
        // Like an API stop: the restart policy must not race us to start it again.
        now->manually_stopped = true;
        (void)ctx->containers->Update(*now);
        if (auto st = StopContainer(ctx, *now, signal, timeout); !st)
          return Response::ErrorMessage(
              500, fmt::format("Cannot restart container {}: {}", id, st.error().message()));
        PublishContainerEvent(ctx, *now, "stop");
      }
    }
    Response started = StartContainer(ctx, id);
    if (started.status >= 400) return started;
    if (auto now = ctx->containers->Find(id)) PublishContainerEvent(ctx, *now, "restart");
    return Response::Text(204, "");
  });
}

// ---- update ----

int64_t IntField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// The limits of `h` that the update touched (`body`'s keys), as the runtime's resources.
oci::Resources UpdatedResources(const json& body, const spec::HostConfig& h, bool swap_supported) {
  oci::Resources r;
  auto has = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && !it->is_null() && !(it->is_number() && it->get<double>() == 0) &&
           !(it->is_string() && it->empty());
  };
  if (has("Memory") || has("MemorySwap") || has("MemoryReservation")) {
    oci::MemoryResources m;
    if (h.memory > 0) m.limit = h.memory;
    if (swap_supported && h.memory > 0) m.swap = h.memory_swap == 0 ? 2 * h.memory : h.memory_swap;
    if (h.memory_reservation > 0) m.reservation = h.memory_reservation;
    r.memory = m;
  }
  if (has("NanoCpus") || has("CpuPeriod") || has("CpuQuota") || has("CpuShares") ||
      has("CpusetCpus") || has("CpusetMems") || has("CpuRealtimePeriod") ||
      has("CpuRealtimeRuntime")) {
    oci::CpuResources c;
    if (h.nano_cpus > 0) {
      c.period = 100000;
      c.quota = h.nano_cpus * 100000 / 1000000000;
    }
    if (h.cpu_period > 0) c.period = uint64_t(h.cpu_period);
    if (h.cpu_quota != 0) c.quota = h.cpu_quota;
    if (h.cpu_shares > 0) c.shares = uint64_t(std::clamp<int64_t>(h.cpu_shares, 2, 262144));
    if (h.cpu_realtime_period > 0) c.realtime_period = uint64_t(h.cpu_realtime_period);
    if (h.cpu_realtime_runtime != 0) c.realtime_runtime = h.cpu_realtime_runtime;
    c.cpus = h.cpuset_cpus;
    c.mems = h.cpuset_mems;
    r.cpu = c;
  }
  if (body.contains("PidsLimit") && !body["PidsLimit"].is_null())
    r.pids = oci::PidsResources{.limit = h.pids_limit.value_or(0)};
  if (has("BlkioWeight")) {
    oci::BlockIoResources b;
    b.weight = h.blkio_weight;
    r.block_io = b;
  }
  return r;
}

// Folds `update` into `base` (only what is set, as the runtime's Set() does).
void MergeResources(oci::Resources& base, const oci::Resources& update) {
  if (update.memory) {
    oci::MemoryResources m = base.memory.value_or(oci::MemoryResources{});
    if (update.memory->limit) m.limit = update.memory->limit;
    if (update.memory->swap) m.swap = update.memory->swap;
    if (update.memory->reservation) m.reservation = update.memory->reservation;
    base.memory = m;
  }
  if (update.cpu) {
    oci::CpuResources c = base.cpu.value_or(oci::CpuResources{});
    const oci::CpuResources& u = *update.cpu;
    if (u.period) c.period = u.period;
    if (u.quota) c.quota = u.quota;
    if (u.shares) c.shares = u.shares;
    if (u.realtime_period) c.realtime_period = u.realtime_period;
    if (u.realtime_runtime) c.realtime_runtime = u.realtime_runtime;
    if (!u.cpus.empty()) c.cpus = u.cpus;
    if (!u.mems.empty()) c.mems = u.mems;
    base.cpu = c;
  }
  if (update.pids) base.pids = update.pids;
  if (update.block_io) {
    oci::BlockIoResources b = base.block_io.value_or(oci::BlockIoResources{});
    if (update.block_io->weight) b.weight = update.block_io->weight;
    base.block_io = b;
  }
}

base::Result<Response> Update(ContainerContext* ctx, const std::string& name, const Request& req) {
  ContainerRecord found = TRY(FindFresh(ctx, name));
  json body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (!body.is_object())
    return Fail(Error::InvalidArgument("invalid update body: not a JSON object"));
  std::string id = found.id;
  return Response::Deferred([ctx, id, body]() -> Response {
    auto lock = ctx->containers->OpLock(id);
    std::lock_guard guard(*lock);
    auto rec = FindFresh(ctx, id);
    if (!rec) return Response::FromError(rec.error());
    auto cannot = [&](int status, const std::string& why) {
      return Response::ErrorMessage(status, fmt::format("Cannot update container {}: {}", id, why));
    };
    json stored = ParseRequestJson(*rec);
    if (!stored["HostConfig"].is_object()) stored["HostConfig"] = json::object();
    json& hc = stored["HostConfig"];

    // dockerd's container.UpdateContainer checks, against the values in force.
    int64_t cur_memory = IntField(hc, "Memory"), cur_swap = IntField(hc, "MemorySwap");
    if (cur_memory > 0 && cur_swap == 0) cur_swap = 2 * cur_memory;  // what create applied
    int64_t nano = IntField(body, "NanoCpus"), period = IntField(body, "CpuPeriod"),
            quota = IntField(body, "CpuQuota"), memory = IntField(body, "Memory"),
            swap = IntField(body, "MemorySwap");
    if (nano > 0 && IntField(hc, "CpuPeriod") > 0)
      return cannot(409,
                    "Conflicting options: Nano CPUs cannot be updated as CPU Period has "
                    "already been set");
    if (nano > 0 && IntField(hc, "CpuQuota") > 0)
      return cannot(409,
                    "Conflicting options: Nano CPUs cannot be updated as CPU Quota has "
                    "already been set");
    if (period > 0 && IntField(hc, "NanoCpus") > 0)
      return cannot(409,
                    "Conflicting options: CPU Period cannot be updated as NanoCPUs has "
                    "already been set");
    if (quota > 0 && IntField(hc, "NanoCpus") > 0)
      return cannot(409,
                    "Conflicting options: CPU Quota cannot be updated as NanoCPUs has "
                    "already been set");
    if (memory != 0 && memory > cur_swap && swap == 0)
      return cannot(409,
                    "Memory limit should be smaller than already set memoryswap limit, "
                    "update the memoryswap at the same time");

    for (const char* key : {"BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota",
                            "CpusetCpus", "CpusetMems", "Memory", "MemorySwap", "MemoryReservation",
                            "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime"}) {
      auto it = body.find(key);
      if (it == body.end() || it->is_null()) continue;
      if ((it->is_number() && it->get<double>() == 0) || (it->is_string() && it->empty())) continue;
      hc[key] = *it;
    }
    if (body.contains("PidsLimit") && !body["PidsLimit"].is_null())
      hc["PidsLimit"] = body["PidsLimit"];
    if (memory != 0 && swap == 0 && IntField(hc, "MemorySwap") == 0)
      hc["MemorySwap"] = cur_swap;  // keep the swap limit in force, as dockerd stores it
    if (auto rp = body.find("RestartPolicy");
        rp != body.end() && rp->is_object() && !rp->value("Name", std::string()).empty()) {
      if (hc.value("AutoRemove", false) && hc.value("RestartPolicy", json::object()) != *rp)
        return cannot(409,
                      "Restart policy cannot be updated because AutoRemove is enabled for "
                      "the container");
      hc["RestartPolicy"] = *rp;
    }

    auto parsed = spec::ParseCreateRequest(stored.dump());
    if (!parsed) return cannot(400, parsed.error().message());
    if (auto st = spec::ValidateCreateRequest(*parsed); !st)
      return cannot(HttpStatusFor(st.error().code()), st.error().message());
    oci::Resources res =
        UpdatedResources(body, parsed->host_config, ctx->host.swap_limit_supported);

    Paths p = PathsOf(ctx, id);
    if (rec->state.status == "running") {
      if (auto st = RuntimeFor(ctx, id).Update(id, res); !st)
        return cannot(500, st.error().message());
    }
    // The bundle too, so that the next start applies the same limits; a container prelaunched
    // at create was made with the old ones.
    ctx->premounts.DropPrelaunch(id);
    if (auto text = sys::ReadFile(p.bundle + "/config.json")) {
      if (auto spec = oci::ParseSpec(*text); spec && spec->linux) {
        oci::Resources merged = spec->linux->resources.value_or(oci::Resources{});
        MergeResources(merged, res);
        spec->linux->resources = merged;
        if (auto st =
                sys::WriteFileAtomic(p.bundle + "/config.json", oci::SerializeSpec(*spec), 0600);
            !st)
          base::LogWarn("update {}: {}", id, st.error().message());
      }
    }
    rec->request = stored.dump();
    if (auto st = ctx->containers->Update(*rec); !st) return Response::FromError(st.error());
    PublishContainerEvent(ctx, *rec, "update");
    return Response::Json(200, json{{"Warnings", json::array()}}.dump());
  });
}

// ---- prune ----

// Go's time.ParseDuration for the common forms ("10m", "1h30m", "1.5h", "300ms").
std::optional<int64_t> ParseGoDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double v = std::atof(std::string(s.substr(start, i - start)).c_str());
    size_t ustart = i;
    while (i < s.size() && !((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "µs") {
      mult = 1e3;
    } else if (unit == "ms") {
      mult = 1e6;
    } else if (unit == "s") {
      mult = 1e9;
    } else if (unit == "m") {
      mult = 60e9;
    } else if (unit == "h") {
      mult = 3600e9;
    } else {
      return std::nullopt;
    }
    total += v * mult;
  }
  return int64_t(total);
}

// dockerd's timetypes.GetTimestamp: a duration before now, an RFC 3339 time or a unix
// timestamp -> unix nanoseconds.
base::Result<int64_t> ParseUntil(const std::string& text) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  if (auto d = ParseGoDuration(text)) return now - *d;
  if (auto t = ParseRfc3339Nanos(text)) return *t;
  if (auto t = ParseUnixTimestamp(text)) return *t;
  return Fail(Error::InvalidArgument(
      fmt::format("failed to parse value as time or duration: \"{}\"", text)));
}

// filters.MatchKVList: every "key" / "key=value" must be among the labels.
bool MatchKVList(const std::set<std::string>& wants, const json& labels) {
  for (const std::string& want : wants) {
    size_t eq = want.find('=');
    std::string key = want.substr(0, eq);
    auto it = labels.find(key);
    if (it == labels.end() || !it->is_string()) return false;
    if (eq != std::string::npos && it->get<std::string>() != want.substr(eq + 1)) return false;
  }
  return true;
}

base::Result<Response> Prune(ContainerContext* ctx, const Query& q) {
  Filters filters = TRY(Filters::Parse(q.Get("filters")));
  TRY(filters.Validate({"label", "label!", "until"}));
  std::optional<int64_t> until;
  for (const std::string& u : filters.Get("until")) until = TRY(ParseUntil(u));
  return Response::Deferred([ctx, filters, until]() -> Response {
    json deleted = json::array();
    uint64_t reclaimed = 0;
    for (ContainerRecord rec : ctx->containers->List()) {
      auto lock = ctx->containers->OpLock(rec.id);
      std::lock_guard guard(*lock);
      auto now = FindFresh(ctx, rec.id);
      if (!now || now->id != rec.id || now->state.status == "running") continue;
      if (until) {
        auto created = ParseRfc3339Nanos(now->created);
        if (created && *created > *until) continue;
      }
      json body = ParseRequestJson(*now);
      json labels =
          body.contains("Labels") && body["Labels"].is_object() ? body["Labels"] : json::object();
      if (!MatchKVList(filters.Get("label"), labels)) continue;
      if (filters.Has("label!") && MatchKVList(filters.Get("label!"), labels)) continue;
      int64_t size = ctx->images->snapshots->ContainerUsage(now->id).value_or(0);
      if (auto st = RemoveContainer(ctx, *now); !st) {
        base::LogWarn("prune {}: {}", now->id, st.error().message());
        continue;
      }
      deleted.push_back(now->id);
      if (size > 0) reclaimed += uint64_t(size);
    }
    if (ctx->events) {
      Event e;
      e.type = "container";
      e.action = "prune";
      e.attributes["reclaimed"] = std::to_string(reclaimed);
      ctx->events->Publish(std::move(e));
    }
    json out = {{"ContainersDeleted", deleted.empty() ? json(nullptr) : deleted},
                {"SpaceReclaimed", reclaimed}};
    return Response::Json(200, out.dump());
  });
}

}  // namespace

void AddManageRoutes(Router& router, ContainerContext* ctx) {
  router.Add("POST", "/containers/prune",
             [ctx](Request& req) { return Prune(ctx, Query(req.query)); });
  router.Add("POST", "/containers/{id}/pause", [ctx](Request& req) -> base::Result<Response> {
    return Pause(ctx, req.params["id"], true);
  });
  router.Add("POST", "/containers/{id}/unpause", [ctx](Request& req) -> base::Result<Response> {
    return Pause(ctx, req.params["id"], false);
  });
  router.Add("POST", "/containers/{id}/rename", [ctx](Request& req) -> base::Result<Response> {
    return Rename(ctx, req.params["id"], Query(req.query));
  });
  router.Add("POST", "/containers/{id}/restart", [ctx](Request& req) -> base::Result<Response> {
    return Restart(ctx, req.params["id"], Query(req.query));
  });
  router.Add("POST", "/containers/{id}/update",
             [ctx](Request& req) { return Update(ctx, req.params["id"], req); });
}

}  // namespace berth::daemon
