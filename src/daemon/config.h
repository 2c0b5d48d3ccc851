// berthd configuration: built-in defaults, overridden by daemon.json (dockerd's key names where
// they overlap), overridden by command-line flags (dockerd's flag names).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/result.h"

namespace berth::daemon {

inline constexpr std::string_view kDefaultConfigFile = "/etc/berth/daemon.json";
inline constexpr std::string_view kDefaultHost = "unix:///run/berth/berth.sock";
// TLS files of the tcp:// listeners when neither flags nor daemon.json name them. dockerd reads
// ~/.docker/; berthd keeps its files next to daemon.json.
inline constexpr std::string_view kDefaultTlsCaCert = "/etc/berth/ca.pem";
inline constexpr std::string_view kDefaultTlsCert = "/etc/berth/cert.pem";
inline constexpr std::string_view kDefaultTlsKey = "/etc/berth/key.pem";
// dockerd's port for tcp:// hosts that name none (2376: Docker's TLS port).
inline constexpr uint16_t kDefaultTlsPort = 2376;

struct DaemonConfig {
  std::string config_file = std::string(kDefaultConfigFile);
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string pidfile = "/run/berth/berthd.pid";
  std::vector<std::string> hosts = {std::string(kDefaultHost)};  // unix://PATH, tcp://, fd://
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;
  std::string log_level = "info";  // debug, info, warn, error, fatal
  std::string group = "berth";     // owner group of the socket, when it exists
  // dockerd's "init": run every container whose request leaves HostConfig.Init null under the
  // init. "init-path": the binary bound at /sbin/docker-init; empty: berth-init next to berthd,
  // else in $PATH.
  bool init = false;
  std::string init_path;
  // "cgroup-favordynmods": at start, set favordynmods on the host's cgroup2 mount, so that
  // container starts on cgroup v1/hybrid hosts stop waiting for an RCU grace period
  // (runtime/cgroup/tuning.h). A host-wide kernel setting, kept after berthd exits: off unless
  // asked for.
  bool cgroup_favordynmods = false;
  // TCP is served only over TLS with client certificates: tcp:// hosts need tls_verify, and
  // then every TCP client must present a certificate that chains to tls_ca_cert. Unix sockets
  // stay plain (their file mode is the access control), as with dockerd.
  bool tls = false;  // dockerd's --tls; implied by tls_verify, and not enough for tcp:// alone
  bool tls_verify = false;
  std::string tls_ca_cert = std::string(kDefaultTlsCaCert);
  std::string tls_cert = std::string(kDefaultTlsCert);
  std::string tls_key = std::string(kDefaultTlsKey);
};

// What was given on the command line; unset members leave the file's or default value.
struct DaemonFlags {
  std::optional<std::string> config_file;
  std::optional<std::string> data_root;
  std::optional<std::string> exec_root;
  std::optional<std::string> pidfile;
  std::optional<std::string> log_level;
  std::optional<std::string> group;
  std::optional<bool> init;
  std::optional<std::string> init_path;
  std::optional<bool> cgroup_favordynmods;
  std::vector<std::string> hosts;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;
  std::optional<bool> tls;
  std::optional<bool> tls_verify;
  std::optional<std::string> tls_ca_cert;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
};

// Parses berthd's arguments (argv[0] is the program name). Returns nullopt when --help or
// --version was printed to `out`, meaning "exit 0". Bad flags: kInvalidArgument with CLI11's text.
base::Result<std::optional<DaemonFlags>> ParseDaemonFlags(int argc, const char* const* argv,
                                                          std::string* out);

// Applies daemon.json text over `config`. Keys we do not know are skipped (listed in `ignored`
// when non-null), as dockerd-only keys are common in copied files; a known key of the wrong
// type is kInvalidArgument.
base::Status ApplyConfigJson(std::string_view json, DaemonConfig& config,
                             std::vector<std::string>* ignored = nullptr);

// Applies the flags that were given over `config`; a non-empty flag list replaces the file's.
void ApplyFlags(const DaemonFlags& flags, DaemonConfig& config);

// defaults <- config file <- flags. A missing default config file is fine; a missing file named
// by --config-file is kNotFound. Validates the log level and the hosts; a tcp:// host without
// tls_verify is kInvalidArgument (berthd serves TCP only to clients with a certificate). The TLS
// files are read later, when the server starts.
base::Result<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags,
                                            std::vector<std::string>* ignored = nullptr);

base::Result<base::LogLevel> ParseLogLevel(std::string_view level);

// "unix:///x.sock" -> "/x.sock". kInvalidArgument for other schemes; "fd://" is handled by the
// caller (socket activation) and refused here.
base::Result<std::string> UnixSocketPath(std::string_view host);

// A tcp:// host: "tcp://127.0.0.1:2376", "tcp://[::1]:2376", "tcp://host" (port 2376),
// "tcp://:2376" (every address; `host` is then empty). kInvalidArgument for anything else.
struct TcpHost {
  std::string host;  // an IP literal (without brackets) or a name; empty: every address
  uint16_t port = kDefaultTlsPort;
};
base::Result<TcpHost> ParseTcpHost(std::string_view host);
bool IsTcpHost(std::string_view host);

}  // namespace berth::daemon
