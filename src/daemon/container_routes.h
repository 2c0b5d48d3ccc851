// The container routes of the Engine API (first cut): create, start, inspect, list, wait, logs
// (json-file, no follow), kill, stop and remove. Containers run under one berth-shim each,
// spawned here; the shim's state dir (shim.pid, exit.json, control.sock) is the source of truth
// for whether a container still runs.
#pragma once

#include <string>

#include "daemon/container_store.h"
#include "daemon/events.h"
#include "daemon/image_stores.h"
#include "daemon/pending_attaches.h"
#include "daemon/pending_mounts.h"
#include "daemon/router.h"
#include "daemon/spec/generate.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

class ContainerMonitor;
class Trash;
class WorkerPool;

// What the container routes use; everything must outlive the router.
class ShimPool;

struct ContainerContext {
  ImageStores* images = nullptr;
  ContainerStore* containers = nullptr;
  std::string data_root;
  // Bundles under <exec_root>/containers/<id>/bundle, shim state dirs under
  // <exec_root>/shim/<id> (kept short: control.sock must fit in sun_path's 108 bytes),
  // the runtime library's root at <exec_root>/runtime.
  std::string exec_root;
  std::string shim_binary;  // berth-shim
  // Shims are exec'd through a read-only view of shim_binary (sys::OpenReadOnlyView) so that a
  // container can never reopen a shim's /proc/<pid>/exe for writing (CVE-2019-5736 class; a
  // running shim also keeps its file text-busy, but not every kernel enforces ETXTBSY on
  // executables). Empty: exec shim_binary itself (the view could not be made).
  sys::UniqueFd shim_view;
  std::string shim_exec_path;
  // The standby shim a start hands its container to (null: every start spawns its shim).
  ShimPool* shim_pool = nullptr;
  // --init: daemon.json "init-path" (resolved by FindInitBinary at each create) and "init".
  std::string init_path;
  bool default_init = false;
  spec::HostFacts host;
  EventBus* events = nullptr;           // container events are published here
  PendingAttaches attaches;             // attach connections waiting for their container to start
  PendingMounts premounts;              // rootfs mounts begun at create for the start
  ContainerMonitor* monitor = nullptr;  // notices shim exits; may be null in tests
  Trash* trash = nullptr;  // a removed container's directories go here; null: removed in place
  // Runs work that follows a request but need not hold up its answer; null: none is done.
  WorkerPool* background = nullptr;
};

void AddContainerRoutes(Router& router, ContainerContext* context);

// The berth-shim next to the running berthd binary (/proc/self/exe's directory).
std::string DefaultShimPath();

// Docker's units.HumanDuration ("Less than a second", "3 seconds", "About a minute", ...).
std::string HumanDuration(int64_t seconds);

}  // namespace berth::daemon
