// berthd configuration: built-in defaults, overridden by daemon.json (dockerd's key names where
// they overlap), overridden by command-line flags (dockerd's flag names).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/result.h"

namespace berth::daemon {

inline constexpr std::string_view kDefaultConfigFile = "/etc/berth/daemon.json";
inline constexpr std::string_view kDefaultHost = "unix:///run/berth/berth.sock";

struct DaemonConfig {
  std::string config_file = std::string(kDefaultConfigFile);
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string pidfile = "/run/berth/berthd.pid";
  std::vector<std::string> hosts = {std::string(kDefaultHost)};  // unix://PATH or fd://
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;
  std::string log_level = "info";  // debug, info, warn, error, fatal
  std::string group = "berth";     // owner group of the socket, when it exists
};

// What was given on the command line; unset members leave the file's or default value.
struct DaemonFlags {
  std::optional<std::string> config_file;
  std::optional<std::string> data_root;
  std::optional<std::string> exec_root;
  std::optional<std::string> pidfile;
  std::optional<std::string> log_level;
  std::optional<std::string> group;
  std::vector<std::string> hosts;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;
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
// by --config-file is kNotFound. Validates the log level and the hosts.
base::Result<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags,
                                            std::vector<std::string>* ignored = nullptr);

base::Result<base::LogLevel> ParseLogLevel(std::string_view level);

// "unix:///x.sock" -> "/x.sock". kInvalidArgument for other schemes (tcp:// is not served yet);
// "fd://" is handled by the caller (socket activation) and refused here.
base::Result<std::string> UnixSocketPath(std::string_view host);

}  // namespace berth::daemon
