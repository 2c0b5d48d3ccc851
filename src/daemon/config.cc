// Daemon configuration: flags (CLI11), daemon.json (nlohmann) and their merge.
#include "daemon/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/build_info.h"
#include "base/strings.h"
#include "sys/file.h"

namespace berth::daemon {

base::Result<std::optional<DaemonFlags>> ParseDaemonFlags(int argc, const char* const* argv,
                                                          std::string* out) {
  DaemonFlags f;
  CLI::App app{"berthd: the berth container engine daemon (Docker Engine API 1.41)", "berthd"};
  std::string config_file, data_root, exec_root, pidfile, log_level, group;
  auto* o_config = app.add_option("--config-file", config_file, "Daemon configuration file")
                       ->default_str(std::string(kDefaultConfigFile));
  auto* o_data = app.add_option("--data-root", data_root, "Root of persistent state");
  auto* o_exec = app.add_option("--exec-root", exec_root, "Root of runtime state");
  auto* o_pid = app.add_option("-p,--pidfile", pidfile, "Path of the pid file");
  auto* o_log = app.add_option("-l,--log-level", log_level, "debug, info, warn, error or fatal");
  auto* o_group = app.add_option("-G,--group", group, "Group owning the unix socket");
  bool init = false;
  std::string init_path;
  auto* o_init = app.add_flag("--init", init, "Run an init in every container (as --init)");
  auto* o_init_path = app.add_option(
      "--init-path", init_path, "The init binary (default: berth-init next to berthd, or in PATH)");
  bool favordynmods = false;
  auto* o_favor = app.add_flag(
      "--cgroup-favordynmods", favordynmods,
      "Set favordynmods on the host's cgroup2 mount: faster starts on cgroup v1 hosts");
  app.add_option("-H,--host", f.hosts,
                 "Socket to listen on: unix://PATH, fd:// or tcp://ADDR:PORT (needs --tlsverify)");
  app.add_option("--insecure-registry", f.insecure_registries, "Registry reached over plain HTTP");
  app.add_option("--registry-mirror", f.registry_mirrors, "Mirror of Docker Hub");
  bool tls = false, tls_verify = false;
  std::string tls_ca_cert, tls_cert, tls_key;
  auto* o_tls = app.add_flag("--tls", tls, "Use TLS; implied by --tlsverify");
  auto* o_tls_verify = app.add_flag(
      "--tlsverify", tls_verify,
      "Use TLS and require client certificates signed by --tlscacert (needed for tcp://)");
  auto* o_ca =
      app.add_option("--tlscacert", tls_ca_cert, "CA that client certificates must chain to")
          ->default_str(std::string(kDefaultTlsCaCert));
  auto* o_cert = app.add_option("--tlscert", tls_cert, "Server certificate (PEM, with its chain)")
                     ->default_str(std::string(kDefaultTlsCert));
  auto* o_key = app.add_option("--tlskey", tls_key, "Server key (PEM)")
                    ->default_str(std::string(kDefaultTlsKey));
  app.set_version_flag("-v,--version",
                       fmt::format("berthd version {}, build {}", api::GetBuildInfo().version,
                                   api::GetBuildInfo().git_commit));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    // --help and --version arrive as exceptions; they are not failures.
    std::ostringstream text;
    app.exit(e, text, text);
    if (out) *out = text.str();
    return std::optional<DaemonFlags>{};
  } catch (const CLI::ParseError& e) {
    return base::Fail(base::Error::InvalidArgument(e.what()));
  }
  if (o_config->count()) f.config_file = config_file;
  if (o_data->count()) f.data_root = data_root;
  if (o_exec->count()) f.exec_root = exec_root;
  if (o_pid->count()) f.pidfile = pidfile;
  if (o_log->count()) f.log_level = log_level;
  if (o_group->count()) f.group = group;
  if (o_init->count()) f.init = init;
  if (o_init_path->count()) f.init_path = init_path;
  if (o_favor->count()) f.cgroup_favordynmods = favordynmods;
  if (o_tls->count()) f.tls = tls;
  if (o_tls_verify->count()) f.tls_verify = tls_verify;
  if (o_ca->count()) f.tls_ca_cert = tls_ca_cert;
  if (o_cert->count()) f.tls_cert = tls_cert;
  if (o_key->count()) f.tls_key = tls_key;
  return std::optional<DaemonFlags>{std::move(f)};
}

base::Status ApplyConfigJson(std::string_view text, DaemonConfig& config,
                             std::vector<std::string>* ignored) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object())
      return base::Fail(base::Error::InvalidArgument("daemon config: not a JSON object"));
    for (const auto& [key, value] : j.items()) {
      if (key == "data-root") {
        config.data_root = value.get<std::string>();
      } else if (key == "exec-root") {
        config.exec_root = value.get<std::string>();
      } else if (key == "pidfile") {
        config.pidfile = value.get<std::string>();
      } else if (key == "log-level") {
        config.log_level = value.get<std::string>();
      } else if (key == "group") {
        config.group = value.get<std::string>();
      } else if (key == "init") {
        config.init = value.get<bool>();
      } else if (key == "init-path") {
        config.init_path = value.get<std::string>();
      } else if (key == "cgroup-favordynmods") {
        config.cgroup_favordynmods = value.get<bool>();
      } else if (key == "hosts") {
        config.hosts = value.get<std::vector<std::string>>();
      } else if (key == "insecure-registries") {
        config.insecure_registries = value.get<std::vector<std::string>>();
      } else if (key == "registry-mirrors") {
        config.registry_mirrors = value.get<std::vector<std::string>>();
      } else if (key == "tls") {
        config.tls = value.get<bool>();
      } else if (key == "tlsverify") {
        config.tls_verify = value.get<bool>();
      } else if (key == "tlscacert") {
        config.tls_ca_cert = value.get<std::string>();
      } else if (key == "tlscert") {
        config.tls_cert = value.get<std::string>();
      } else if (key == "tlskey") {
        config.tls_key = value.get<std::string>();
      } else if (ignored) {
        ignored->push_back(key);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return base::Fail(base::Error::InvalidArgument(std::string("daemon config: ") + e.what()));
  }
  return {};
}

void ApplyFlags(const DaemonFlags& f, DaemonConfig& config) {
  if (f.config_file) config.config_file = *f.config_file;
  if (f.data_root) config.data_root = *f.data_root;
  if (f.exec_root) config.exec_root = *f.exec_root;
  if (f.pidfile) config.pidfile = *f.pidfile;
  if (f.log_level) config.log_level = *f.log_level;
  if (f.group) config.group = *f.group;
  if (f.init) config.init = *f.init;
  if (f.init_path) config.init_path = *f.init_path;
  if (f.cgroup_favordynmods) config.cgroup_favordynmods = *f.cgroup_favordynmods;
  if (!f.hosts.empty()) config.hosts = f.hosts;
  if (!f.insecure_registries.empty()) config.insecure_registries = f.insecure_registries;
  if (!f.registry_mirrors.empty()) config.registry_mirrors = f.registry_mirrors;
  if (f.tls) config.tls = *f.tls;
  if (f.tls_verify) config.tls_verify = *f.tls_verify;
  if (f.tls_ca_cert) config.tls_ca_cert = *f.tls_ca_cert;
  if (f.tls_cert) config.tls_cert = *f.tls_cert;
  if (f.tls_key) config.tls_key = *f.tls_key;
}

base::Result<base::LogLevel> ParseLogLevel(std::string_view level) {
  if (level == "debug") return base::LogLevel::kDebug;
  if (level == "info") return base::LogLevel::kInfo;
  if (level == "warn" || level == "warning") return base::LogLevel::kWarn;
  if (level == "error" || level == "fatal") return base::LogLevel::kError;
  return base::Fail(base::Error::InvalidArgument(
      fmt::format("unknown log level {:?}: use debug, info, warn, error or fatal", level)));
}

base::Result<std::string> UnixSocketPath(std::string_view host) {
  constexpr std::string_view kUnix = "unix://";
  if (base::StartsWith(host, kUnix) && host.size() > kUnix.size() && host[kUnix.size()] == '/')
    return std::string(host.substr(kUnix.size()));
  return base::Fail(base::Error::InvalidArgument(fmt::format(
      "unsupported host {:?}: berthd listens on unix://ABSOLUTE-PATH, fd:// or tcp://ADDR:PORT",
      host)));
}

bool IsTcpHost(std::string_view host) { return base::StartsWith(host, "tcp://"); }

base::Result<TcpHost> ParseTcpHost(std::string_view host) {
  auto bad = [&](std::string_view why) {
    return base::Fail(base::Error::InvalidArgument(
        fmt::format("invalid host {:?}: {} (use tcp://ADDR:PORT)", host, why)));
  };
  if (!IsTcpHost(host)) return bad("not a tcp:// address");
  std::string_view rest = host.substr(6);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // dockerd accepts "tcp://h:p/"
  if (rest.find_first_of("/?#@") != std::string_view::npos) return bad("unexpected path");
  TcpHost out;
  std::string_view port;
  if (base::StartsWith(rest, "[")) {  // [v6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unterminated [");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("junk after ]");
      port = rest.substr(1);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) return bad("IPv6 addresses need brackets");
    out.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    out.host = std::string(rest);
  }
  if (!port.empty()) {
    auto p = base::ParseUint(port);
    if (!p || *p == 0 || *p > 65535) return bad(fmt::format("bad port {:?}", port));
    out.port = static_cast<uint16_t>(*p);
  }
  return out;
}

base::Result<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags,
                                            std::vector<std::string>* ignored) {
  DaemonConfig config;
  std::string file = flags.config_file.value_or(config.config_file);
  auto text = sys::ReadFile(file);
  if (text) {
    TRY_CTX(ApplyConfigJson(*text, config, ignored), file);
  } else if (flags.config_file || text.error().code() != base::ErrorCode::kNotFound) {
    return base::Fail(std::move(text.error()).Context("read daemon config"));
  }
  ApplyFlags(flags, config);
  TRY(ParseLogLevel(config.log_level));
  if (config.hosts.empty()) config.hosts = {std::string(kDefaultHost)};
  for (const std::string& h : config.hosts) {
    if (h == "fd://") continue;
    if (!IsTcpHost(h)) {
      TRY(UnixSocketPath(h));
      continue;
    }
    TRY(ParseTcpHost(h));
    // dockerd only warns about a TCP socket without client verification; berthd refuses it:
    // the API is root on the host to anyone who can reach it.
    if (!config.tls_verify)
      return base::Fail(base::Error::InvalidArgument(fmt::format(
          "refusing to listen on {}: TCP is served only with TLS client-certificate "
          "verification; add --tlsverify (and --tlscacert, --tlscert, --tlskey, default {}, {}, "
          "{}) or \"tlsverify\": true in daemon.json",
          h, kDefaultTlsCaCert, kDefaultTlsCert, kDefaultTlsKey)));
  }
  if (config.tls_verify) config.tls = true;
  return config;
}

}  // namespace berth::daemon
