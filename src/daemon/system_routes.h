// The system routes: GET/HEAD /_ping, GET /version, GET /info.
#pragma once

#include <string>

#include "api/system.h"
#include "daemon/config.h"
#include "daemon/host.h"
#include "daemon/image_stores.h"
#include "daemon/router.h"

namespace berth::daemon {

// What the system routes report; fixed after start-up.
struct EngineContext {
  HostFacts host;
  DaemonConfig config;
  std::string engine_id;
  ImageStores* images = nullptr;  // not owned; null: no image store (Images: 0)
};

api::SystemVersion MakeSystemVersion(const HostFacts& host);
api::SystemInfo MakeSystemInfo(const EngineContext& engine);

// The init binary bound into --init containers: `configured` (daemon.json "init-path",
// --init-path) when set, looked up in $PATH when it is a bare name; else berth-init next to the
// running berthd; else berth-init in $PATH. "" when there is none.
std::string FindInitBinary(const std::string& configured);

// The commit in an init's `--version` line, as dockerd parses tini's: "tini version 0.19.0 -
// git.de40ad0" -> "de40ad0". "" when the line has none.
std::string ParseInitCommit(std::string_view version_line);

// "10.0.0.0/8", "fd00::/8": an insecure-registries entry that is a network, not a host name.
bool IsCidr(std::string_view s);

// `engine` must outlive the router.
void AddSystemRoutes(Router& router, const EngineContext* engine);

}  // namespace berth::daemon
