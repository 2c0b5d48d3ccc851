// The image routes of the Engine API: pull and import (/images/create), push, list, inspect,
// history, tag, remove, save (/images/get, /images/{name}/get), load, prune, and registry login
// (/auth).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "daemon/events.h"
#include "daemon/image_stores.h"
#include "daemon/router.h"
#include "registry/credentials.h"
#include "registry/hosts.h"

namespace berth::daemon {

// What the image routes use; everything must outlive the router.
struct ImageContext {
  ImageStores* stores = nullptr;
  const registry::RegistryHosts* hosts = nullptr;
  EventBus* events = nullptr;  // image events (pull, tag, untag, delete, ...); may be null
};

// The X-Registry-Auth header: base64url (padding optional) JSON
// {"username","password","serveraddress"}. Empty, "{}" or "e30=" mean no credentials (nullopt).
// InvalidArgument for a header that does not decode.
struct RegistryAuth {
  std::string username;
  std::string password;
  std::string server_address;
};
base::Result<std::optional<RegistryAuth>> DecodeRegistryAuth(std::string_view header);

// dockerd's progress bar text for `current` of `total` bytes: "[==>   ] 1.2MB/3.4MB" (50
// columns, units.HumanSize's 4 significant digits, decimal units).
std::string ProgressBar(int64_t current, int64_t total);

void AddImageRoutes(Router& router, const ImageContext* context);

}  // namespace berth::daemon
