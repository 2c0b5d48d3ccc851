// berthd: the berth daemon. Flags and daemon.json select the roots and sockets; see
// src/daemon/config.h.
#include <cstdio>
#include <string>

#include "base/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  using namespace berth;
  std::string printed;
  auto flags = daemon::ParseDaemonFlags(argc, argv, &printed);
  if (!flags) {
    std::fprintf(stderr, "berthd: %s\n", flags.error().message().c_str());
    return 2;
  }
  if (!*flags) {
    std::fputs(printed.c_str(), stdout);
    return 0;
  }
  std::vector<std::string> ignored;
  auto config = daemon::LoadDaemonConfig(**flags, &ignored);
  if (!config) {
    std::fprintf(stderr, "berthd: %s\n", config.error().message().c_str());
    return 1;
  }
  base::SetLogConfig({.min_level = *daemon::ParseLogLevel(config->log_level)});
  for (const auto& key : ignored)
    base::LogWarn("{}: ignoring unsupported key \"{}\"", config->config_file, key);
  if (auto st = daemon::RunDaemon(*config); !st) {
    base::LogError("berthd: {}", st.error().message());
    return 1;
  }
  return 0;
}
