// `ps` (and `container ls`): GET /containers/json, printed as docker's table, as IDs (-q), or
// through a --format template over docker's row fields ({{.ID}}, {{.Names}}, {{.Status}}, ...,
// `table ...` adds the header row and aligns columns, `json` prints one object per line).
#include <fmt/format.h>
#include <time.h>

#include <memory>

#include "base/strings.h"
#include "cli/cli.h"
#include "cli/container.h"
#include "cli/format.h"
#include "cli/template.h"

namespace berth::cli {
namespace {

using nlohmann::json;

struct PsOptions {
  bool all = false, quiet = false, no_trunc = false, size = false, latest = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

// Go's strconv.Quote for the ASCII range docker's commands use.
std::string GoQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += char(c);
    }
  }
  return out + "\"";
}

// docker's formatter.Ellipsis: at most `max` characters, the last one "…" when cut.
std::string Ellipsis(const std::string& s, size_t max) {
  // Count UTF-8 code points, not bytes.
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= max) return s;
  return s.substr(0, starts[max - 1]) + "…";
}

std::string Ports(const json& ports) {
  std::vector<std::string> out;
  for (const json& p : ports.is_array() ? ports : json::array()) {
    std::string type = p.value("Type", "tcp");
    int priv = p.value("PrivatePort", 0), pub = p.value("PublicPort", 0);
    if (pub != 0)
      out.push_back(fmt::format("{}:{}->{}/{}", p.value("IP", "0.0.0.0"), pub, priv, type));
    else
      out.push_back(fmt::format("{}/{}", priv, type));
  }
  return base::Join(out, ", ");
}

// The row fields of docker's containerContext (cli/command/formatter/container.go).
json Row(const json& c, bool trunc) {
  std::string id = c.value("Id", "");
  std::vector<std::string> names;
  for (const json& n : c.value("Names", json::array())) {
    std::string name = n.is_string() ? n.get<std::string>() : "";
    if (base::StartsWith(name, "/")) name = name.substr(1);
    // Legacy link names ("/other/alias") are only shown untruncated.
    if (trunc && name.find('/') != std::string::npos) continue;
    names.push_back(name);
  }
  if (trunc && names.size() > 1) names.resize(1);
  std::string image = c.value("Image", "");
  if (trunc) {
    if (base::StartsWith(image, "sha256:")) image = image.substr(7, 12);
    if (size_t at = image.find('@'); at != std::string::npos) image = image.substr(0, at);
  }
  std::string command = c.value("Command", "");
  if (trunc) command = Ellipsis(command, 20);
  int64_t created = c.value("Created", int64_t(0));
  time_t t = time_t(created);
  tm local{};
  localtime_r(&t, &local);
  char created_at[64];
  strftime(created_at, sizeof(created_at), "%Y-%m-%d %H:%M:%S %z %Z", &local);
  std::string labels;
  if (c.contains("Labels") && c["Labels"].is_object())
    for (auto it = c["Labels"].begin(); it != c["Labels"].end(); ++it)
      labels += (labels.empty() ? "" : ",") + it.key() + "=" +
                (it->is_string() ? it->get<std::string>() : it->dump());
  std::vector<std::string> mounts;
  int local_volumes = 0;
  for (const json& m : c.value("Mounts", json::array())) {
    std::string name = m.value("Name", "");
    if (name.empty()) name = m.value("Source", "");
    if (m.value("Driver", "") == "local") ++local_volumes;
    mounts.push_back(trunc ? Ellipsis(name, 15) : name);
  }
  std::vector<std::string> networks;
  if (c.contains("NetworkSettings") && c["NetworkSettings"].contains("Networks") &&
      c["NetworkSettings"]["Networks"].is_object())
    for (auto it = c["NetworkSettings"]["Networks"].begin();
         it != c["NetworkSettings"]["Networks"].end(); ++it)
      networks.push_back(it.key());
  std::string size = HumanSize(c.value("SizeRw", int64_t(0)));
  if (c.contains("SizeRootFs"))
    size += fmt::format(" (virtual {})", HumanSize(c.value("SizeRootFs", int64_t(0))));
  return {{"ID", trunc ? id.substr(0, 12) : id},
          {"Names", base::Join(names, ",")},
          {"Image", image},
          {"Command", GoQuote(command)},
          {"CreatedAt", created_at},
          {"RunningFor", Ago(created)},
          {"Ports", Ports(c.value("Ports", json::array()))},
          {"State", c.value("State", "")},
          {"Status", c.value("Status", "")},
          {"Size", size},
          {"Labels", labels},
          {"Mounts", base::Join(mounts, ",")},
          {"Networks", base::Join(networks, ",")},
          {"LocalVolumes", std::to_string(local_volumes)},
          {"RawLabels", c.contains("Labels") ? c["Labels"] : json::object()}};
}

// Built on first use: a namespace-scope json would be built at every CLI start.
const json& Headers() {
  static const json headers = {{"ID", "CONTAINER ID"},      {"Names", "NAMES"},
                               {"Image", "IMAGE"},          {"Command", "COMMAND"},
                               {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"},
                               {"Ports", "PORTS"},          {"State", "STATE"},
                               {"Status", "STATUS"},        {"Size", "SIZE"},
                               {"Labels", "LABELS"},        {"Mounts", "MOUNTS"},
                               {"Networks", "NETWORKS"},    {"LocalVolumes", "LOCAL VOLUMES"}};
  return headers;
}

int Ps(client::Client& client, const PsOptions& o) {
  int limit = o.latest ? 1 : o.last;
  std::string query = "?all=" + std::string(o.all || limit > 0 ? "1" : "0");
  if (limit > 0) query += fmt::format("&limit={}", limit);
  // docker asks for sizes when they are shown (-s, or a template mentioning .Size).
  bool size = o.size || o.format.find(".Size") != std::string::npos;
  if (size) query += "&size=1";
  if (!o.filters.empty()) {
    json f = json::object();
    for (const std::string& kv : o.filters) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        fmt::print(stderr,
                   "invalid argument \"{}\" for \"-f, --filter\" flag: bad format of "
                   "filter (expected name=value)\n",
                   kv);
        return kExitCommandError;
      }
      f[kv.substr(0, eq)][kv.substr(eq + 1)] = true;
    }
    query += "&filters=" + client::QueryEscape(f.dump());
  }
  auto body = client.GetJson(ApiPath("/containers/json") + query);
  if (!body) return CommandError(client, body.error());
  json list = json::parse(*body, nullptr, false);
  if (!list.is_array()) return CommandError(client, base::Error::Internal("bad /containers/json"));
  // The daemon applies the limit; trimming again costs nothing if it did not.
  if (limit > 0 && list.size() > size_t(limit)) list.erase(list.begin() + limit, list.end());
  bool trunc = !o.no_trunc;

  if (o.quiet) {
    for (const json& c : list) fmt::print("{}\n", Row(c, trunc)["ID"].get<std::string>());
    return 0;
  }
  std::string format = o.format;
  if (format.empty())
    format = std::string(
                 "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t"
                 "{{.Status}}\\t{{.Ports}}\\t{{.Names}}") +
             (o.size ? "\\t{{.Size}}" : "");
  std::vector<json> rows;
  for (const json& c : list) {
    rows.push_back(Row(c, trunc));
    // The raw labels serve `.Label "key"` only; json output leaves them out, as docker does.
    if (format == "json") rows.back().erase("RawLabels");
  }
  std::map<std::string, Template::Method> methods = {
      {"Label", [](const json& row, const std::vector<json>& args) -> json {
         if (args.size() != 1 || !row.contains("RawLabels")) return "";
         std::string key = args[0].is_string() ? args[0].get<std::string>() : "";
         return row["RawLabels"].value(key, "");
       }}};
  std::map<std::string, Template::Method> header_methods = {
      {"Label", [](const json&, const std::vector<json>&) -> json { return "LABEL"; }}};
  return PrintFormatted(format, rows, Headers(), methods, header_methods) ? 0 : kExitCommandError;
}

}  // namespace

void AddPsCommand(CLI::App& parent, CommandSet& set, bool management) {
  if (!set.Wants(management ? "ls" : "ps")) return;
  auto o = std::make_shared<PsOptions>();
  auto* cmd = parent.add_subcommand(management ? "ls" : "ps", "List containers");
  if (management) {
    cmd->alias("ps");
    cmd->alias("list");
  }
  cmd->add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
  cmd->add_flag("-q,--quiet", o->quiet, "Only display container IDs");
  cmd->add_option("-n,--last", o->last, "Show n last created containers (includes all states)");
  cmd->add_flag("-l,--latest", o->latest,
                "Show the latest created container (includes all states)");
  cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmd->add_flag("-s,--size", o->size, "Display total file sizes");
  cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")
      ->allow_extra_args(false);
  cmd->add_option("--format", o->format, "Format output using a custom template");
  cmd->callback([o, &set] { set.action = [o](client::Client& c) { return Ps(c, *o); }; });
}

}  // namespace berth::cli
