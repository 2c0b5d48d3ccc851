// Routes that watch containers: logs (json-file, follow), top, stats and the daemon's /events.
// The streaming ones run on a thread of their own (Response::stream) and end when what they
// watch ends, when the client goes away (a failed BodyWriter::Write) or when the daemon stops
// (EventBus::Close, noticed through the short EventBus::Read naps below).
#include <fcntl.h>
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "daemon/container_internal.h"
#include "daemon/container_stats.h"
#include "daemon/event_filter.h"
#include "daemon/log_select.h"
#include "daemon/query.h"
#include "runtime/container.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

namespace berth::daemon {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Waits `d`, or less when an event arrives; false when the daemon is stopping (EventBus::Close),
// so the stream must end.
bool Nap(const EventBus* bus, std::chrono::milliseconds d) {
  if (!bus) {
    std::this_thread::sleep_for(d);
    return true;
  }
  uint64_t cursor = bus->Next();
  (void)bus->Read(&cursor, Clock::now() + d);
  return !bus->closed();
}

bool IsRunning(const ContainerRecord& rec) { return rec.state.status == "running"; }

// The container now, or nullopt once it is gone.
std::optional<ContainerRecord> Current(ContainerContext* ctx, const std::string& id) {
  auto rec = ctx->containers->Find(id);
  if (!rec || rec->id != id) return std::nullopt;
  Refresh(ctx, *rec);
  return *rec;
}

// ---- logs ----

Response Logs(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  auto sel = ParseLogSelection(q.Get("stdout"), q.Get("stderr"), q.Get("since"), q.Get("until"),
                               q.Get("tail", "all"), q.Bool("timestamps"));
  if (!sel) return Response::FromError(sel.error());
  sel->tty = rec->tty;
  sel->details = q.Bool("details");
  // As dockerd: following a container that does not run returns what is there.
  bool follow = q.Bool("follow") && IsRunning(*rec);
  std::string path = PathsOf(ctx, rec->id).log;
  Response r = Response::JsonStream([ctx, id = rec->id, path, sel = *sel, follow](BodyWriter& w) {
    JsonLogReader reader(path);
    // Batches entries into chunks of up to 64 KiB; false once the client is gone.
    auto send = [&](const std::vector<LogEntry>& entries, bool tail_applied) {
      std::string chunk;
      for (const LogEntry& e : entries) {
        if (!tail_applied && !Selected(e, sel)) continue;
        chunk += FrameLogEntry(e, sel);
        if (chunk.size() >= 64 * 1024) {
          if (!w.Write(chunk)) return false;
          chunk.clear();
        }
      }
      return chunk.empty() || w.Write(chunk);
    };
    if (!send(SelectLogEntries(reader.ReadAll(), sel), true) || !follow) return;
    for (;;) {
      if (sel.until_nano > 0 && NowNanos() > sel.until_nano) return;
      // Checked before the read: once it has exited, the read below drains the rest.
      auto now = Current(ctx, id);
      bool done = !now || !IsRunning(*now);
      if (!send(reader.Poll(), false) || done) return;
      if (!Nap(ctx->events, 200ms)) return;
    }
  });
  r.content_type =
      rec->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  return r;
}

// ---- top ----

// moby's parsePSOutput: the header's titles, and the lines whose PID is one of `pids` (plus the
// thread lines, PID "-", that follow one of them).
base::Result<json> ParsePsOutput(const std::string& output, const std::set<int>& pids) {
  std::vector<std::string> lines = base::Split(output, '\n');
  json titles = json::array();
  std::vector<std::string> t =
      lines.empty() ? std::vector<std::string>{} : base::SplitNonEmpty(lines[0], ' ');
  size_t pid_index = t.size();
  for (size_t i = 0; i < t.size(); ++i) {
    titles.push_back(t[i]);
    if (t[i] == "PID" && pid_index == t.size()) pid_index = i;
  }
  if (pid_index == t.size())
    return base::Fail(base::Error::Internal("Couldn't find PID field in ps output"));
  json procs = json::array();
  bool previous_contained = false;
  auto append = [&](const std::vector<std::string>& fields) {
    json row = json::array();
    for (size_t i = 0; i + 1 < t.size() && i < fields.size(); ++i) row.push_back(fields[i]);
    std::string rest;
    for (size_t i = t.size() - 1; i < fields.size(); ++i)
      rest += (rest.empty() ? "" : " ") + fields[i];
    row.push_back(rest);
    procs.push_back(row);
  };
  for (size_t l = 1; l < lines.size(); ++l) {
    std::vector<std::string> fields = base::SplitNonEmpty(lines[l], ' ');
    if (fields.size() <= pid_index) continue;
    if (fields[pid_index] == "-") {
      if (previous_contained) append(fields);
      continue;
    }
    auto p = base::ParseInt(fields[pid_index]);
    if (!p)
      return base::Fail(
          base::Error::Internal(fmt::format("Unexpected pid '{}'", fields[pid_index])));
    previous_contained = pids.count(int(*p)) > 0;
    if (previous_contained) append(fields);
  }
  return json{{"Titles", titles}, {"Processes", procs}};
}

Response Top(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  if (!IsRunning(*rec))
    return Response::ErrorMessage(409, fmt::format("Container {} is not running", rec->id));
  std::string ps_args = q.Get("ps_args", "-ef");
  return Response::Deferred([ctx, id = rec->id, ps_args]() -> Response {
    runtime::Runtime rt(runtime::RuntimeOptions{PathsOf(ctx, id).runtime_root, false});
    auto pids = rt.Ps(id);
    if (!pids) return Response::FromError(pids.error());
    std::set<int> wanted(pids->begin(), pids->end());
    std::vector<std::string> args = {"ps"};
    for (const std::string& a : base::SplitNonEmpty(ps_args, ' ')) args.push_back(a);
    std::string list;
    for (int p : wanted) list += (list.empty() ? "" : ",") + std::to_string(p);
    std::vector<std::string> quick = args;
    if (!list.empty()) {
      quick.push_back("-q");
      quick.push_back(list);
    }
    auto out = sys::RunCapture(quick);
    // Some ps options (f) do not go with -q: retry without it, as dockerd does.
    if (!out || out->status != 0) out = sys::RunCapture(args);
    if (!out) return Response::FromError(out.error());
    if (out->status != 0) {
      std::string first = out->err.substr(0, out->err.find('\n'));
      return Response::ErrorMessage(
          500, "ps: " + (first.empty() ? "exit status " + std::to_string(out->status) : first));
    }
    auto body = ParsePsOutput(out->out, wanted);
    if (!body) return Response::FromError(body.error());
    return Response::Json(200, body->dump());
  });
}

// ---- stats ----

uint64_t MachineMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? uint64_t(pages) * uint64_t(size) : 0;
}

std::optional<StatsSample> Sample(ContainerContext* ctx, const ContainerRecord& rec) {
  if (!IsRunning(rec)) return std::nullopt;
  auto s = SampleStats(PathsOf(ctx, rec.id).runtime_root, rec.id, rec.state.pid);
  if (!s) {
    base::LogDebug("stats {}: {}", rec.id, s.error().message());
    return std::nullopt;
  }
  return *s;
}

Response Stats(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  bool stream = q.BoolOr("stream", true);
  bool one_shot = q.Bool("one-shot");
  if (one_shot && stream)
    return Response::ErrorMessage(400, "cannot have stream=true and one-shot=true");
  uint64_t machine = MachineMemory();
  if (!stream) {
    return Response::Deferred([ctx, rec = *rec, one_shot, machine]() mutable -> Response {
      auto first = Sample(ctx, rec);
      std::optional<StatsSample> second;
      if (first && !one_shot) {
        // precpu_stats is a sample a second earlier, so a single read gives a CPU percentage.
        Nap(ctx->events, 1000ms);
        if (auto now = Current(ctx, rec.id)) second = Sample(ctx, *now);
      }
      json body;
      if (second)
        body = StatsJson(&*second, &*first, rec.name, rec.id, machine);
      else
        body = StatsJson(first ? &*first : nullptr, nullptr, rec.name, rec.id, machine);
      return Response::Json(200, body.dump() + "\n");
    });
  }
  return Response::JsonStream(
      [ctx, rec = *rec, machine](BodyWriter& w) {
        std::optional<StatsSample> pre;
        for (;;) {
          auto now = Current(ctx, rec.id);
          auto cur = now ? Sample(ctx, *now) : std::nullopt;
          json body = StatsJson(cur ? &*cur : nullptr, pre ? &*pre : nullptr,
                                now ? now->name : rec.name, rec.id, machine);
          if (!w.Write(body.dump() + "\n")) return;
          if (!cur) return;  // stopped (or gone): the zeroed object was the last
          pre = cur;
          // One object a second; events wake the nap early, so nap until it is due.
          int64_t due = cur->read_nano + 1000000000;
          for (int64_t left; (left = due - NowNanos()) > 0;)
            if (!Nap(ctx->events, std::chrono::milliseconds(left / 1000000 + 1))) return;
        }
      },
      /*trim_after_stream=*/false);
}

// ---- events ----

Response Events(const EventBus* bus, const Query& q) {
  if (!bus) return Response::ErrorMessage(500, "no event bus");
  int64_t since = 0, until = 0;
  if (std::string s = q.Get("since"); !s.empty()) {
    auto v = ParseUnixTimestamp(s);
    if (!v) return Response::FromError(v.error());
    since = *v;
  }
  if (std::string u = q.Get("until"); !u.empty()) {
    auto v = ParseUnixTimestamp(u);
    if (!v) return Response::FromError(v.error());
    until = *v;
  }
  if (until != 0 && until < since)
    return Response::ErrorMessage(
        400, fmt::format("`since` time ({}) cannot be after `until` time ({})", q.Get("since"),
                         q.Get("until")));
  auto filters = Filters::Parse(q.Get("filters"));
  if (!filters) return Response::FromError(filters.error());
  // Taken now, before the headers go out: what is published once the client has its 200 must
  // reach it.
  uint64_t live = bus->Next();
  return Response::JsonStream(
      [bus, since, until, live, filter = EventFilter(*filters)](BodyWriter& w) {
        auto send = [&](const Event& e) {
          return !filter.Match(e) || w.Write(EventJson(e) + "\n");
        };
        if (since != 0 || until != 0) {
          uint64_t cursor = 1;
          for (const Event& e : bus->Read(&cursor, Clock::now())) {
            if (e.seq >= live) break;
            if (e.time_nano < since || (until != 0 && e.time_nano > until)) continue;
            if (!send(e)) return;
          }
        }
        if (until != 0 && until <= NowNanos()) return;
        uint64_t cursor = live;
        for (;;) {
          auto deadline = Clock::now() + 1s;
          if (until != 0)
            deadline =
                std::min(deadline, Clock::now() + std::chrono::nanoseconds(until - NowNanos()));
          auto got = bus->Read(&cursor, deadline);
          for (const Event& e : got) {
            if (until != 0 && e.time_nano > until) return;
            if (!send(e)) return;
          }
          if (bus->closed()) return;  // the daemon stops
          if (until != 0 && NowNanos() >= until) return;
        }
      },
      /*trim_after_stream=*/false);
}

}  // namespace

void AddObserveRoutes(Router& router, ContainerContext* ctx) {
  router.Add("GET", "/containers/{id}/logs", [ctx](Request& req) -> base::Result<Response> {
    return Logs(ctx, req.params["id"], Query(req.query));
  });
  router.Add("GET", "/containers/{id}/top", [ctx](Request& req) -> base::Result<Response> {
    return Top(ctx, req.params["id"], Query(req.query));
  });
  router.Add("GET", "/containers/{id}/stats", [ctx](Request& req) -> base::Result<Response> {
    return Stats(ctx, req.params["id"], Query(req.query));
  });
  router.Add("GET", "/events", [ctx](Request& req) -> base::Result<Response> {
    return Events(ctx->events, Query(req.query));
  });
}

}  // namespace berth::daemon
