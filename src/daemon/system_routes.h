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

// "10.0.0.0/8", "fd00::/8": an insecure-registries entry that is a network, not a host name.
bool IsCidr(std::string_view s);

// `engine` must outlive the router.
void AddSystemRoutes(Router& router, const EngineContext* engine);

}  // namespace berth::daemon
