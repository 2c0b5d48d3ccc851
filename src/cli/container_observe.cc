// The commands that watch containers: logs (framed or raw by Config.Tty, -f streams),
// top (docker's tabwriter with minwidth 20) and stats (docker's CPU/memory arithmetic).
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "base/strings.h"
#include "cli/cli.h"
#include "cli/container.h"
#include "cli/format.h"
#include "cli/stream.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// Go's time.ParseDuration: "1h30m", "10s", "1.5h", "300ms"; nullopt if `s` is not one.
std::optional<double> ParseGoDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = s.front() == '-';
  if (s.front() == '-' || s.front() == '+') s.remove_prefix(1);
  if (s == "0") return 0.0;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
    std::string unit(s.substr(0, j));
    s.remove_prefix(j);
    double mult;
    if (unit == "ns")
      mult = 1e-9;
    else if (unit == "us" || unit == "µs")
      mult = 1e-6;
    else if (unit == "ms")
      mult = 1e-3;
    else if (unit == "s")
      mult = 1;
    else if (unit == "m")
      mult = 60;
    else if (unit == "h")
      mult = 3600;
    else
      return std::nullopt;
    total += v * mult;
  }
  return neg ? -total : total;
}

// docker's timetypes.GetTimestamp: a Go duration counts back from now, RFC 3339 (and its
// shorter forms, local time without a zone) becomes unix seconds, anything else (unix seconds,
// "secs.nanos") is passed through for the daemon to judge.
std::string Timestamp(const std::string& value) {
  auto now = std::chrono::system_clock::now();
  if (auto d = ParseGoDuration(value)) {
    auto t = now - std::chrono::nanoseconds(int64_t(*d * 1e9));
    int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return fmt::format("{}.{:09d}", ns / 1000000000, ns % 1000000000);
  }
  if (value.find('-') == std::string::npos || value.find('.') == 0) return value;
  static const char* kLayouts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H",
                                   "%Y-%m-%d"};
  for (const char* layout : kLayouts) {
    tm t{};
    const char* rest = strptime(value.c_str(), layout, &t);
    if (!rest) continue;
    std::string tail = rest;
    std::string frac;
    if (!tail.empty() && tail[0] == '.') {
      size_t k = 1;
      while (k < tail.size() && isdigit(static_cast<unsigned char>(tail[k]))) ++k;
      frac = tail.substr(1, k - 1);
      tail = tail.substr(k);
    }
    int64_t secs;
    if (tail.empty()) {
      t.tm_isdst = -1;
      secs = int64_t(mktime(&t));
    } else if (tail == "Z" || tail[0] == '+' || tail[0] == '-') {
      secs = int64_t(timegm(&t));
      if (tail != "Z") {
        int hh = 0, mm = 0;
        if (sscanf(tail.c_str() + 1, "%d:%d", &hh, &mm) < 1) continue;
        secs -= (tail[0] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
      }
    } else {
      continue;
    }
    frac = (frac + "000000000").substr(0, 9);
    return fmt::format("{}.{}", secs, frac);
  }
  return value;
}

struct LogsOptions {
  bool follow = false, timestamps = false, details = false;
  std::string tail = "all", since, until, container;
};

int Logs(client::Client& client, const LogsOptions& o) {
  auto info = client.GetJson(ApiPath("/containers/" + client::QueryEscape(o.container) + "/json"));
  if (!info) return CommandError(client, info.error());
  json c = json::parse(*info, nullptr, false);
  bool tty = c.is_object() && c.contains("Config") && c["Config"].value("Tty", false);
  std::string id = c.value("Id", o.container);
  std::string q = "?stdout=1&stderr=1";
  if (!o.since.empty()) q += "&since=" + client::QueryEscape(Timestamp(o.since));
  if (!o.until.empty()) q += "&until=" + client::QueryEscape(Timestamp(o.until));
  if (o.timestamps) q += "&timestamps=1";
  if (o.follow) q += "&follow=1";
  if (o.details) q += "&details=1";
  q += "&tail=" + client::QueryEscape(o.tail);
  Demuxer demux(1, 2);
  base::Status written;
  auto r = client.Stream("GET", ApiPath("/containers/" + id + "/logs") + q, "", "", {},
                         [&](std::string_view d) {
                           written = tty ? WriteFd(1, d) : demux.Feed(d);
                           return bool(written);
                         });
  if (!written) {
    // A closed stdout (`| head`) ends the command quietly; a systemerr frame is an error.
    if (written.error().code() == base::ErrorCode::kInternal)
      fmt::print(stderr, "Error: {}\n", written.error().message());
    return written.error().code() == base::ErrorCode::kInternal ? kExitCommandError : 0;
  }
  if (auto st = CheckStatus(r); !st) return CommandError(client, st.error());
  return 0;
}

int Top(client::Client& client, const std::string& container,
        const std::vector<std::string>& args) {
  std::string q;
  if (!args.empty()) q = "?ps_args=" + client::QueryEscape(base::Join(args, " "));
  auto body = client.GetJson(ApiPath("/containers/" + client::QueryEscape(container) + "/top") + q);
  if (!body) return CommandError(client, body.error());
  json j = json::parse(*body, nullptr, false);
  if (!j.is_object()) return CommandError(client, base::Error::Internal("malformed top answer"));
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> titles;
  for (const json& t : j.value("Titles", json::array()))
    titles.push_back(t.is_string() ? t.get<std::string>() : t.dump());
  rows.push_back(titles);
  for (const json& p : j.value("Processes", json::array())) {
    std::vector<std::string> row;
    for (const json& f : p) row.push_back(f.is_string() ? f.get<std::string>() : f.dump());
    rows.push_back(row);
  }
  PrintTable(stdout, rows, 20);
  return 0;
}

struct StatsOptions {
  bool all = false, no_stream = false, no_trunc = false;
  std::string format;
  std::vector<std::string> containers;
};

uint64_t U(const json& j, std::initializer_list<const char*> path) {
  const json* v = &j;
  for (const char* k : path) {
    if (!v->is_object() || !v->contains(k)) return 0;
    v = &(*v)[k];
  }
  return v->is_number() ? v->get<uint64_t>() : 0;
}

// One row of docker stats, from a stats?stream=0 answer (cli/command/container/stats_helpers.go).
json StatsRow(const json& s, const std::string& name_hint, bool trunc) {
  double cpu = 0;
  double cpu_delta = double(U(s, {"cpu_stats", "cpu_usage", "total_usage"})) -
                     double(U(s, {"precpu_stats", "cpu_usage", "total_usage"}));
  double sys_delta = double(U(s, {"cpu_stats", "system_cpu_usage"})) -
                     double(U(s, {"precpu_stats", "system_cpu_usage"}));
  double online = double(U(s, {"cpu_stats", "online_cpus"}));
  if (online == 0 && s.contains("cpu_stats") && s["cpu_stats"].contains("cpu_usage") &&
      s["cpu_stats"]["cpu_usage"].contains("percpu_usage") &&
      s["cpu_stats"]["cpu_usage"]["percpu_usage"].is_array())
    online = double(s["cpu_stats"]["cpu_usage"]["percpu_usage"].size());
  if (sys_delta > 0 && cpu_delta > 0) cpu = cpu_delta / sys_delta * online * 100;
  // Usage without the page cache: cgroup v1 total_inactive_file, v2 inactive_file.
  double mem = double(U(s, {"memory_stats", "usage"}));
  uint64_t inactive = U(s, {"memory_stats", "stats", "total_inactive_file"});
  if (inactive == 0) inactive = U(s, {"memory_stats", "stats", "inactive_file"});
  if (double(inactive) < mem) mem -= double(inactive);
  double limit = double(U(s, {"memory_stats", "limit"}));
  double mem_pct = limit > 0 ? mem / limit * 100 : 0;
  uint64_t rx = 0, tx = 0;
  if (s.contains("networks") && s["networks"].is_object())
    for (const auto& [_, n] : s["networks"].items()) {
      rx += U(n, {"rx_bytes"});
      tx += U(n, {"tx_bytes"});
    }
  uint64_t blk_read = 0, blk_write = 0;
  if (s.contains("blkio_stats") && s["blkio_stats"].contains("io_service_bytes_recursive") &&
      s["blkio_stats"]["io_service_bytes_recursive"].is_array())
    for (const json& e : s["blkio_stats"]["io_service_bytes_recursive"]) {
      std::string op = e.value("op", "");
      for (char& ch : op) ch = char(tolower(static_cast<unsigned char>(ch)));
      if (op == "read") blk_read += U(e, {"value"});
      if (op == "write") blk_write += U(e, {"value"});
    }
  std::string id = s.value("id", "");
  std::string name = s.value("name", name_hint);
  if (base::StartsWith(name, "/")) name = name.substr(1);
  return {{"Container", name_hint},
          {"ID", trunc ? id.substr(0, 12) : id},
          {"Name", name.empty() ? "--" : name},
          {"CPUPerc", fmt::format("{:.2f}%", cpu)},
          {"MemUsage", BytesSize(mem) + " / " + BytesSize(limit)},
          {"MemPerc", fmt::format("{:.2f}%", mem_pct)},
          {"NetIO", HumanSize(int64_t(rx)) + " / " + HumanSize(int64_t(tx))},
          {"BlockIO", HumanSize(int64_t(blk_read)) + " / " + HumanSize(int64_t(blk_write))},
          {"PIDs", std::to_string(U(s, {"pids_stats", "current"}))}};
}

// Built on first use: a namespace-scope json would be built at every CLI start.
const json& StatsHeaders() {
  static const json headers = {{"Container", "CONTAINER"},
                               {"ID", "CONTAINER ID"},
                               {"Name", "NAME"},
                               {"CPUPerc", "CPU %"},
                               {"MemUsage", "MEM USAGE / LIMIT"},
                               {"MemPerc", "MEM %"},
                               {"NetIO", "NET I/O"},
                               {"BlockIO", "BLOCK I/O"},
                               {"PIDs", "PIDS"}};
  return headers;
}

int Stats(client::Client& client, const StatsOptions& o) {
  std::string format = o.format.empty()
                           ? "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t"
                             "{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}"
                           : o.format;
  for (;;) {
    std::vector<std::string> names = o.containers;
    if (names.empty()) {
      auto body = client.GetJson(ApiPath("/containers/json") + (o.all ? "?all=1" : ""));
      if (!body) return CommandError(client, body.error());
      json list = json::parse(*body, nullptr, false);
      for (const json& c : list.is_array() ? list : json::array())
        names.push_back(c.value("Id", ""));
    }
    std::vector<json> rows;
    int rc = 0;
    for (const std::string& n : names) {
      auto body =
          client.GetJson(ApiPath("/containers/" + client::QueryEscape(n) + "/stats") + "?stream=0");
      if (!body) {
        rc = CommandError(client, body.error());
        continue;
      }
      json s = json::parse(*body, nullptr, false);
      if (s.is_object()) rows.push_back(StatsRow(s, n, !o.no_trunc));
    }
    if (rc != 0 && rows.empty()) return rc;
    // The streaming view redraws in place, as docker's does on a terminal.
    if (!o.no_stream && isatty(1)) fmt::print("\x1b[2J\x1b[H");
    if (!PrintFormatted(format, rows, StatsHeaders())) return kExitCommandError;
    std::fflush(stdout);
    if (o.no_stream) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

void AddLogs(CLI::App& parent, CommandSet& set) {
  auto lo = std::make_shared<LogsOptions>();
  auto* logs = parent.add_subcommand("logs", "Fetch the logs of a container");
  logs->add_flag("-f,--follow", lo->follow, "Follow log output");
  logs->add_flag("-t,--timestamps", lo->timestamps, "Show timestamps");
  logs->add_flag("--details", lo->details, "Show extra details provided to logs");
  logs->add_option("-n,--tail", lo->tail, "Number of lines to show from the end of the logs");
  logs->add_option("--since", lo->since, "Show logs since timestamp or relative (e.g. 42m)");
  logs->add_option("--until", lo->until, "Show logs before a timestamp or relative (e.g. 42m)");
  logs->add_option("CONTAINER", lo->container)->required();
  logs->callback([lo, &set] { set.action = [lo](client::Client& c) { return Logs(c, *lo); }; });
}

void AddTop(CLI::App& parent, CommandSet& set) {
  auto container = std::make_shared<std::string>();
  auto* top = parent.add_subcommand("top", "Display the running processes of a container");
  top->add_option("CONTAINER", *container)->required();
  set.split_after_first_positional.insert(top);
  top->callback([container, &set] {
    std::vector<std::string> args = set.trailing;
    set.action = [container, args](client::Client& c) { return Top(c, *container, args); };
  });
}

void AddStats(CLI::App& parent, CommandSet& set) {
  auto so = std::make_shared<StatsOptions>();
  auto* stats = parent.add_subcommand("stats",
                                      "Display a live stream of container(s) resource "
                                      "usage statistics");
  stats->add_flag("-a,--all", so->all, "Show all containers (default shows just running)");
  stats->add_flag("--no-stream", so->no_stream,
                  "Disable streaming stats and only pull the first result");
  stats->add_flag("--no-trunc", so->no_trunc, "Do not truncate output");
  stats->add_option("--format", so->format, "Format output using a custom template");
  stats->add_option("CONTAINER", so->containers);
  stats->callback([so, &set] { set.action = [so](client::Client& c) { return Stats(c, *so); }; });
}

}  // namespace

void AddObserveCommands(CLI::App& parent, CommandSet& set) {
  if (set.Wants("logs")) AddLogs(parent, set);
  if (set.Wants("top")) AddTop(parent, set);
  if (set.Wants("stats")) AddStats(parent, set);
}

}  // namespace berth::cli
