// The commands that are one request per container: stop, kill, restart, rm, pause, unpause,
// rename, wait, and inspect (with -f templates). Each container is tried in turn; a failure is
// printed as docker prints it and makes the exit code 1.
#include <fmt/format.h>

#include <memory>

#include "cli/cli.h"
#include "cli/container.h"
#include "cli/template.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// Sends `method path(name)+query` for each name, printing the name on success (docker echoes
// what it was given, not the ID).
int ForEach(client::Client& client, const std::vector<std::string>& names,
            const std::string& method, const std::string& suffix, const std::string& query,
            bool echo) {
  int rc = 0;
  for (const std::string& name : names) {
    std::string target = ApiPath("/containers/" + client::QueryEscape(name) + suffix) + query;
    auto st = CheckStatus(client.Do(method, target, "", method == "POST" ? "text/plain" : ""));
    if (!st) {
      rc = CommandError(client, st.error());
      continue;
    }
    if (echo) fmt::print("{}\n", name);
  }
  return rc;
}

int Wait(client::Client& client, const std::vector<std::string>& names) {
  int rc = 0;
  for (const std::string& name : names) {
    auto r = client.Post(ApiPath("/containers/" + client::QueryEscape(name) + "/wait"), "", "");
    if (auto st = CheckStatus(r); !st) {
      rc = CommandError(client, st.error());
      continue;
    }
    json j = json::parse(r->body, nullptr, false);
    fmt::print("{}\n", j.is_object() ? j.value("StatusCode", 0) : 0);
  }
  return rc;
}

struct InspectOptions {
  std::string format, type;
  bool size = false;
  std::vector<std::string> names;
};

// `inspect` tries a container, then an image (unless --type says which), as docker's inspect
// does; `container inspect` passes type "container".
int Inspect(client::Client& client, const InspectOptions& o) {
  std::optional<Template> tmpl;
  if (!o.format.empty() && o.format != "json") {
    auto t = Template::Parse(o.format);
    if (!t) {
      fmt::print(stderr, "{}\n", t.error().message());
      return kExitCommandError;
    }
    tmpl = std::move(*t);
  }
  if (!o.type.empty() && o.type != "container" && o.type != "image") {
    fmt::print(stderr, "\"{}\" is not a valid value for --type\n", o.type);
    return kExitCommandError;
  }
  // ordered_json keeps the daemon's field order in the printed document.
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  int rc = 0;
  for (const std::string& name : o.names) {
    std::string body;
    bool found = false;
    for (const char* kind : {"container", "image"}) {
      if (!o.type.empty() && o.type != kind) continue;
      std::string target = std::string(kind) == "container"
                               ? ApiPath("/containers/" + client::QueryEscape(name) + "/json") +
                                     (o.size ? "?size=1" : "")
                               : ApiPath("/images/" + name + "/json");
      auto r = client.GetJson(target);
      if (r) {
        body = *r;
        found = true;
        break;
      }
      if (r.error().code() != base::ErrorCode::kNotFound) {
        rc = CommandError(client, r.error());
        found = true;  // reported already
        body.clear();
        break;
      }
    }
    if (!found) {
      rc = kExitCommandError;
      fmt::print(stderr, "Error: No such {}: {}\n", o.type.empty() ? "object" : o.type, name);
      continue;
    }
    if (body.empty()) continue;
    if (tmpl) {
      auto out = tmpl->Execute(json::parse(body, nullptr, false));
      if (!out) {
        fmt::print(stderr, "{}\n", out.error().message());
        return kExitCommandError;
      }
      fmt::print("{}\n", *out);
    } else {
      all.push_back(nlohmann::ordered_json::parse(body, nullptr, false));
    }
  }
  if (!tmpl) {
    if (o.format == "json")
      for (const auto& j : all) fmt::print("{}\n", j.dump());
    else
      fmt::print("{}\n", all.dump(4));
  }
  return rc;
}

// Registers a command whose callback receives the positional container names; null when `set`
// does not want it.
CLI::App* AddSimple(CLI::App& parent, CommandSet& set, const std::string& name,
                    const std::string& help,
                    std::function<int(client::Client&, const std::vector<std::string>&)> run) {
  if (!set.Wants(name)) return nullptr;
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("CONTAINER", *names)->required();
  cmd->callback([names, run, &set] {
    set.action = [names, run](client::Client& c) { return run(c, *names); };
  });
  return cmd;
}

void AddRename(CLI::App& parent, CommandSet& set);
void AddInspect(CLI::App& parent, CommandSet& set, bool management);

}  // namespace

void AddOpsCommands(CLI::App& parent, CommandSet& set, bool management) {
  auto stop_time = std::make_shared<std::optional<int>>();
  auto* stop = AddSimple(parent, set, "stop", "Stop one or more running containers",
                         [stop_time](client::Client& c, const std::vector<std::string>& n) {
                           std::string q = *stop_time ? fmt::format("?t={}", **stop_time) : "";
                           return ForEach(c, n, "POST", "/stop", q, true);
                         });
  if (stop)
    stop->add_option_function<int>(
        "-t,--time,--timeout", [stop_time](int t) { *stop_time = t; },
        "Seconds to wait before killing the container");

  auto restart_time = std::make_shared<std::optional<int>>();
  auto* restart = AddSimple(parent, set, "restart", "Restart one or more containers",
                            [restart_time](client::Client& c, const std::vector<std::string>& n) {
                              std::string q =
                                  *restart_time ? fmt::format("?t={}", **restart_time) : "";
                              return ForEach(c, n, "POST", "/restart", q, true);
                            });
  if (restart)
    restart->add_option_function<int>(
        "-t,--time,--timeout", [restart_time](int t) { *restart_time = t; },
        "Seconds to wait before killing the container");

  auto signal = std::make_shared<std::string>();
  auto* kill = AddSimple(parent, set, "kill", "Kill one or more running containers",
                         [signal](client::Client& c, const std::vector<std::string>& n) {
                           std::string q =
                               signal->empty() ? "" : "?signal=" + client::QueryEscape(*signal);
                           return ForEach(c, n, "POST", "/kill", q, true);
                         });
  if (kill) kill->add_option("-s,--signal", *signal, "Signal to send to the container");

  auto rm_force = std::make_shared<bool>(false), rm_volumes = std::make_shared<bool>(false);
  auto* rm =
      AddSimple(parent, set, "rm", "Remove one or more containers",
                [rm_force, rm_volumes](client::Client& c, const std::vector<std::string>& n) {
                  std::string q = std::string("?force=") + (*rm_force ? "1" : "0") +
                                  (*rm_volumes ? "&v=1" : "");
                  return ForEach(c, n, "DELETE", "", q, true);
                });
  if (rm) {
    rm->add_flag("-f,--force", *rm_force,
                 "Force the removal of a running container (uses SIGKILL)");
    rm->add_flag("-v,--volumes", *rm_volumes,
                 "Remove anonymous volumes associated with the container");
    if (management) rm->alias("remove");
  }

  AddSimple(parent, set, "pause", "Pause all processes within one or more containers",
            [](client::Client& c, const std::vector<std::string>& n) {
              return ForEach(c, n, "POST", "/pause", "", true);
            });
  AddSimple(parent, set, "unpause", "Unpause all processes within one or more containers",
            [](client::Client& c, const std::vector<std::string>& n) {
              return ForEach(c, n, "POST", "/unpause", "", true);
            });
  AddSimple(parent, set, "wait",
            "Block until one or more containers stop, then print their exit codes", Wait);

  if (set.Wants("rename")) AddRename(parent, set);
  if (set.Wants("inspect")) AddInspect(parent, set, management);
}

namespace {

void AddRename(CLI::App& parent, CommandSet& set) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  auto* rename = parent.add_subcommand("rename", "Rename a container");
  rename->add_option("CONTAINER", names->first)->required();
  rename->add_option("NEW_NAME", names->second)->required();
  rename->callback([names, &set] {
    set.action = [names](client::Client& c) {
      if (names->second.empty()) {
        fmt::print(stderr, "Error: Neither old nor new names may be empty\n");
        return kExitCommandError;
      }
      return ForEach(c, {names->first}, "POST", "/rename",
                     "?name=" + client::QueryEscape(names->second), false);
    };
  });
}

void AddInspect(CLI::App& parent, CommandSet& set, bool management) {
  auto io = std::make_shared<InspectOptions>();
  if (management) io->type = "container";
  auto* inspect = parent.add_subcommand(
      "inspect", management ? "Display detailed information on one or more containers"
                            : "Return low-level information on Docker objects");
  inspect->add_option("-f,--format", io->format, "Format output using a custom template");
  inspect->add_flag("-s,--size", io->size, "Display total file sizes");
  if (!management) inspect->add_option("--type", io->type, "Return JSON for specified type");
  inspect->add_option("NAME", io->names)->required();
  inspect->callback(
      [io, &set] { set.action = [io](client::Client& c) { return Inspect(c, *io); }; });
}

}  // namespace

}  // namespace berth::cli
