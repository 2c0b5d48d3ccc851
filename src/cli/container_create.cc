// `run`/`create` flags -> the POST /containers/create body, encoded as the docker CLI encodes them
// (cli/command/container/opts.go), with docker's wording for bad values.
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "base/strings.h"
#include "cli/container.h"

namespace berth::cli {
namespace {

using nlohmann::json;

base::Error BadFlag(std::string_view value, std::string_view flag, std::string_view why) {
  return base::Error::InvalidArgument(
      fmt::format("invalid argument \"{}\" for \"{}\" flag: {}", value, flag, why));
}

// docker's opts.ValidateEnv: "NAME" without a value takes the CLI's own value, when it has one.
std::string ExpandEnv(const std::string& e) {
  if (e.find('=') != std::string::npos) return e;
  if (const char* v = getenv(e.c_str())) return e + "=" + v;
  return e;
}

// docker's kvfile.Parse: "#" comments and blank lines skipped, values kept verbatim, a bare NAME
// taken from the environment or dropped.
base::Status ReadEnvFile(const std::string& path, std::vector<std::string>& out) {
  std::ifstream in(path);
  if (!in)
    return base::Fail(
        base::Error::InvalidArgument(fmt::format("open {}: no such file or directory", path)));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view l = line;
    while (!l.empty() && isspace(static_cast<unsigned char>(l.front()))) l.remove_prefix(1);
    if (l.empty() || l.front() == '#') continue;
    size_t eq = l.find('=');
    std::string name(l.substr(0, eq));
    if (eq == std::string_view::npos) name = std::string(base::Trim(name));
    if (name.find_first_of(" \t") != std::string::npos)
      return base::Fail(
          base::Error::InvalidArgument(fmt::format("variable '{}' contains whitespaces", name)));
    if (eq != std::string_view::npos) {
      out.push_back(std::string(l));
    } else if (const char* v = getenv(name.c_str())) {
      out.push_back(name + "=" + v);
    }
  }
  return {};
}

std::string AbsPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd))) return p;
  std::string rel = p;
  if (rel == ".") return cwd;
  if (base::StartsWith(rel, "./")) rel = rel.substr(2);
  return std::string(cwd) + "/" + rel;
}

// -v [SOURCE:]TARGET[:OPTIONS]: a bind or named volume goes to Binds (relative host paths made
// absolute, as docker >= 23 does), a lone TARGET is an anonymous volume in Config.Volumes.
base::Status AddVolume(const std::string& spec, json& binds, json& volumes) {
  std::vector<std::string> parts = base::Split(spec, ':');
  if (spec.empty() || parts.size() > 3)
    return base::Fail(
        base::Error::InvalidArgument(fmt::format("invalid volume specification: '{}'", spec)));
  if (parts.size() == 1) {
    if (parts[0].empty() || parts[0][0] != '/')
      return base::Fail(base::Error::InvalidArgument(fmt::format(
          "invalid volume specification: '{}': invalid mount config for type \"volume\": "
          "invalid mount path: '{}' mount path must be absolute",
          spec, parts[0])));
    volumes[parts[0]] = json::object();
    return {};
  }
  if (parts[1].empty() || parts[1][0] != '/')
    return base::Fail(base::Error::InvalidArgument(fmt::format(
        "invalid volume specification: '{}': invalid mount config for type \"bind\": invalid "
        "mount path: '{}' mount path must be absolute",
        spec, parts[1])));
  if (base::StartsWith(parts[0], ".")) parts[0] = AbsPath(parts[0]);
  binds.push_back(base::Join(parts, ":"));
  return {};
}

std::optional<bool> ParseBool(std::string_view v) {
  if (v == "" || v == "1" || v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "0" || v == "false" || v == "False" || v == "FALSE") return false;
  return std::nullopt;
}

// --mount type=bind,source=/a,target=/b,readonly (docker's opts.MountOpt).
base::Result<json> ParseMount(const std::string& spec) {
  json m = {{"Type", "volume"}};
  json bind, volume, tmpfs;
  auto fail = [&](const std::string& why) { return base::Fail(BadFlag(spec, "--mount", why)); };
  for (const std::string& field : base::Split(spec, ',')) {
    size_t eq = field.find('=');
    std::string key = base::StartsWith(field, " ") ? std::string(base::Trim(field)) : field;
    key = key.substr(0, key.find('='));
    for (char& c : key) c = char(tolower(static_cast<unsigned char>(c)));
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (eq == std::string::npos && key != "readonly" && key != "ro" && key != "volume-nocopy" &&
        key != "bind-nonrecursive")
      return fail(fmt::format("invalid field '{}' must be a key=value pair", field));
    if (key == "type") {
      m["Type"] = value;
    } else if (key == "source" || key == "src") {
      m["Source"] = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m["Target"] = value;
    } else if (key == "readonly" || key == "ro") {
      auto b = ParseBool(value);
      if (!b) return fail(fmt::format("invalid value for {}: {}", key, value));
      m["ReadOnly"] = *b;
    } else if (key == "consistency") {
      m["Consistency"] = value;
    } else if (key == "bind-propagation") {
      bind["Propagation"] = value;
    } else if (key == "bind-nonrecursive") {
      auto b = ParseBool(value);
      if (!b) return fail(fmt::format("invalid value for {}: {}", key, value));
      bind["NonRecursive"] = *b;
    } else if (key == "volume-nocopy") {
      auto b = ParseBool(value);
      if (!b) return fail(fmt::format("invalid value for {}: {}", key, value));
      volume["NoCopy"] = *b;
    } else if (key == "volume-driver") {
      volume["DriverConfig"]["Name"] = value;
    } else if (key == "volume-label") {
      size_t e = value.find('=');
      volume["Labels"][value.substr(0, e)] = e == std::string::npos ? "" : value.substr(e + 1);
    } else if (key == "tmpfs-size") {
      auto n = ParseRamBytes(value);
      if (!n) return fail(fmt::format("invalid value for {}: {}", key, value));
      tmpfs["SizeBytes"] = *n;
    } else if (key == "tmpfs-mode") {
      char* end = nullptr;
      long mode = strtol(value.c_str(), &end, 8);
      if (value.empty() || *end) return fail(fmt::format("invalid value for {}: {}", key, value));
      tmpfs["Mode"] = mode;
    } else {
      return fail(fmt::format("unexpected key '{}' in '{}'", key, field));
    }
  }
  if (!m.contains("Target")) return fail("target is required");
  if (!bind.is_null()) m["BindOptions"] = bind;
  if (!volume.is_null()) m["VolumeOptions"] = volume;
  if (!tmpfs.is_null()) m["TmpfsOptions"] = tmpfs;
  std::string type = m["Type"];
  if (type == "bind" && m.contains("Source")) m["Source"] = AbsPath(m["Source"]);
  return m;
}

// --ulimit nofile=1024[:2048]
base::Result<json> ParseUlimit(const std::string& spec) {
  size_t eq = spec.find('=');
  auto bad = [&] {
    return base::Fail(BadFlag(spec, "--ulimit", fmt::format("invalid ulimit argument: {}", spec)));
  };
  if (eq == std::string::npos || eq == 0) return bad();
  std::string name = spec.substr(0, eq), limits = spec.substr(eq + 1);
  size_t colon = limits.find(':');
  auto soft = base::ParseInt(limits.substr(0, colon));
  auto hard = colon == std::string::npos ? soft : base::ParseInt(limits.substr(colon + 1));
  if (!soft || !hard) return bad();
  if (*soft > *hard)
    return base::Fail(BadFlag(spec, "--ulimit",
                              fmt::format("ulimit soft limit must be less than or equal to hard "
                                          "limit: {} > {}",
                                          *soft, *hard)));
  return json{{"Name", name}, {"Soft", *soft}, {"Hard", *hard}};
}

// --restart no|always|unless-stopped|on-failure[:N]
base::Result<json> ParseRestart(const std::string& spec) {
  if (spec.empty()) return json{{"Name", "no"}, {"MaximumRetryCount", 0}};
  size_t colon = spec.find(':');
  std::string name = spec.substr(0, colon);
  int64_t count = 0;
  if (colon != std::string::npos) {
    auto n = base::ParseInt(spec.substr(colon + 1));
    if (!n || name != "on-failure")
      return base::Fail(base::Error::InvalidArgument(
          name == "on-failure" ? fmt::format("invalid restart policy format: maximum retry count "
                                             "must be an integer")
                               : fmt::format("invalid restart policy format: {}", spec)));
    count = *n;
  }
  if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure")
    return base::Fail(
        base::Error::InvalidArgument(fmt::format("invalid restart policy format: {}", spec)));
  return json{{"Name", name}, {"MaximumRetryCount", count}};
}

// -p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]
base::Status AddPublish(const std::string& spec, json& exposed, json& bindings) {
  std::string proto = "tcp", rest = spec;
  if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    proto = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::vector<std::string> parts = base::Split(rest, ':');
  std::string ip, host_port, container_port = parts.back();
  if (parts.size() == 2) host_port = parts[0];
  if (parts.size() == 3) ip = parts[0], host_port = parts[1];
  if (parts.size() > 3 || !base::ParseUint(container_port))
    return base::Fail(
        base::Error::InvalidArgument(fmt::format("invalid containerPort: {}", container_port)));
  std::string key = container_port + "/" + proto;
  exposed[key] = json::object();
  bindings[key].push_back({{"HostIp", ip}, {"HostPort", host_port}});
  return {};
}

}  // namespace

base::Result<int64_t> ParseRamBytes(std::string_view text) {
  std::string s(base::Trim(text));
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return base::Fail(base::Error::InvalidArgument(fmt::format("invalid size: '{}'", s)));
  double n = std::strtod(s.substr(0, i).c_str(), nullptr);
  std::string unit = s.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  for (char& c : unit) c = char(tolower(static_cast<unsigned char>(c)));
  // "k", "kb", "kib" are all 1024 for docker's RAMInBytes.
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  static const std::string kUnits = "kmgtp";
  double mult = 1;
  if (unit == "b" || unit.empty()) {
    mult = 1;
  } else if (unit.size() == 1 && kUnits.find(unit[0]) != std::string::npos) {
    mult = std::pow(1024.0, double(kUnits.find(unit[0]) + 1));
  } else {
    return base::Fail(base::Error::InvalidArgument(fmt::format("invalid size: '{}'", s)));
  }
  return int64_t(n * mult);
}

base::Result<json> BuildCreateBody(const ContainerOptions& o, std::pair<int, int> console) {
  json env = json::array();
  for (const std::string& f : o.env_files) {
    std::vector<std::string> lines;
    TRY(ReadEnvFile(f, lines));
    for (auto& l : lines) env.push_back(l);
  }
  for (const std::string& e : o.env) env.push_back(ExpandEnv(e));

  json binds = json::array(), volumes = json::object(), mounts = json::array();
  for (const std::string& v : o.volumes) TRY(AddVolume(v, binds, volumes));
  for (const std::string& m : o.mounts) mounts.push_back(TRY(ParseMount(m)));
  json tmpfs = json::object();
  for (const std::string& t : o.tmpfs) {
    size_t colon = t.find(':');
    tmpfs[t.substr(0, colon)] = colon == std::string::npos ? "" : t.substr(colon + 1);
  }
  json labels = json::object();
  for (const std::string& l : o.labels) {
    size_t eq = l.find('=');
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  json ulimits = json::array();
  for (const std::string& u : o.ulimits) ulimits.push_back(TRY(ParseUlimit(u)));
  json exposed = json::object(), port_bindings = json::object();
  for (const std::string& p : o.publish) TRY(AddPublish(p, exposed, port_bindings));

  json restart = TRY(ParseRestart(o.restart));
  if (o.rm && restart["Name"] != "no")
    return base::Fail(base::Error::InvalidArgument("Conflicting options: --restart and --rm"));

  int64_t memory = 0;
  if (!o.memory.empty()) {
    auto m = ParseRamBytes(o.memory);
    if (!m) return base::Fail(BadFlag(o.memory, "-m, --memory", m.error().message()));
    memory = *m;
  }
  if (o.cpus < 0)
    return base::Fail(BadFlag(fmt::format("{}", o.cpus), "--cpus", "range is invalid"));

  // As docker's parse(): without -a, stdout and stderr are attached (stdin with -i); a detached
  // run attaches nothing and keeps stdin open without StdinOnce.
  bool attach = !o.detach;
  json config = {
      {"Hostname", o.hostname},
      {"Domainname", ""},
      {"User", o.user},
      {"AttachStdin", attach && o.interactive},
      {"AttachStdout", attach},
      {"AttachStderr", attach},
      {"Tty", o.tty},
      {"OpenStdin", o.interactive},
      {"StdinOnce", attach && o.interactive},
      {"Env", env},
      {"Cmd", o.command.empty() ? json(nullptr) : json(o.command)},
      {"Image", o.image},
      {"Volumes", volumes},
      {"WorkingDir", o.workdir},
      {"Entrypoint", o.entrypoint ? json::array({*o.entrypoint}) : json(nullptr)},
      {"OnBuild", nullptr},
      {"Labels", labels},
  };
  if (!exposed.empty()) config["ExposedPorts"] = exposed;
  json host = {
      {"Binds", binds.empty() ? json(nullptr) : binds},
      {"NetworkMode", o.network.empty() ? "default" : o.network},
      {"PortBindings", port_bindings},
      {"RestartPolicy", restart},
      {"AutoRemove", o.rm},
      {"ConsoleSize", {console.first, console.second}},
      {"CapAdd", o.cap_add.empty() ? json(nullptr) : json(o.cap_add)},
      {"CapDrop", o.cap_drop.empty() ? json(nullptr) : json(o.cap_drop)},
      {"Privileged", o.privileged},
      {"ReadonlyRootfs", o.read_only},
      {"SecurityOpt", o.security_opt.empty() ? json(nullptr) : json(o.security_opt)},
      {"Tmpfs", tmpfs.empty() ? json(nullptr) : tmpfs},
      {"Memory", memory},
      {"NanoCpus", int64_t(std::llround(o.cpus * 1e9))},
      {"CpuShares", o.cpu_shares},
      {"CpusetCpus", o.cpuset_cpus},
      {"Ulimits", ulimits.empty() ? json(nullptr) : ulimits},
      {"Mounts", mounts.empty() ? json(nullptr) : mounts},
      {"Init", o.init ? json(true) : json(nullptr)},
  };
  // docker sends PidsLimit only when the flag was given a non-zero value (0 = unchanged).
  if (o.pids_limit != 0) host["PidsLimit"] = o.pids_limit;
  json body = config;
  body["HostConfig"] = host;
  body["NetworkingConfig"] = {{"EndpointsConfig", json::object()}};
  return body;
}

}  // namespace berth::cli
