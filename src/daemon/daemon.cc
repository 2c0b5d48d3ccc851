// berthd start-up and shutdown.
#include "daemon/daemon.h"

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/build_info.h"
#include "api/version.h"
#include "base/log.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "daemon/container_monitor.h"
#include "daemon/container_routes.h"
#include "daemon/container_store.h"
#include "daemon/host.h"
#include "daemon/host_probe.h"
#include "daemon/image_routes.h"
#include "daemon/image_stores.h"
#include "daemon/listener.h"
#include "daemon/server.h"
#include "daemon/shim_pool.h"
#include "daemon/system_routes.h"
#include "daemon/trash.h"
#include "daemon/worker_pool.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/tuning.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::daemon {
namespace {

// A random UUID kept in the data root, so that /info's ID is stable across restarts.
base::Result<std::string> EngineId(const std::string& data_root) {
  std::string path = data_root + "/engine-id";
  if (auto id = sys::ReadFile(path)) {
    std::string_view t = base::Trim(*id);
    if (!t.empty()) return std::string(t);
  }
  unsigned char b[16];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    return base::Fail(base::Error::FromErrno(errno, "getrandom"));
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string id = fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}"
      "{:02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
      b[15]);
  TRY(sys::WriteFileAtomic(path, id + "\n", 0644));
  return id;
}

// "cgroup-favordynmods" (runtime/cgroup/tuning.h). Never fatal: containers start either way.
void ApplyCgroupTuning(const DaemonConfig& config) {
  namespace cg = runtime::cgroup;
  if (!config.cgroup_favordynmods) {
    auto layout = cg::DetectHostLayout();
    if (layout && layout->mode != cg::CgroupMode::kV2 &&
        !cg::FavorsDynmods(layout->unified_super_options))
      base::LogInfo(
          "cgroup {}: each container start waits ~10 ms for the kernel to move it into its v1 "
          "cgroups; \"cgroup-favordynmods\": true in daemon.json removes the wait",
          cg::CgroupModeName(layout->mode));
    return;
  }
  auto outcome = cg::EnableFavorDynmods();
  if (!outcome) {
    base::LogWarn("cgroup-favordynmods: {}", outcome.error().message());
    return;
  }
  if (outcome->changed)
    base::LogInfo("cgroup-favordynmods: set favordynmods on {} (was \"{}\")", outcome->mount_point,
                  outcome->super_options);
  else
    base::LogInfo("cgroup-favordynmods: {} already has favordynmods", outcome->mount_point);
}

}  // namespace

base::Status RunDaemon(const DaemonConfig& config) {
  // Blocked before any thread starts, so every thread inherits the mask and only sigwait below
  // sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that hangs up must cost a write error, not the daemon.
  signal(SIGPIPE, SIG_IGN);
  // glibc gives every thread that allocates an arena of its own; berthd's threads are mostly
  // idle, and two arenas keep the idle footprint small (bench/RESULTS.md, daemon_rss.sh).
  mallopt(M_ARENA_MAX, 2);

  TRY_CTX(sys::MkdirAll(config.data_root, 0711), "create data root");
  TRY_CTX(sys::MkdirAll(config.exec_root, 0711), "create exec root");

  TRY(WritePidFile(config.pidfile));
  base::ScopeGuard remove_pidfile([&] { unlink(config.pidfile.c_str()); });

  ServerOptions options;
  std::vector<std::string> created_sockets;
  base::ScopeGuard remove_sockets([&] {
    for (const auto& p : created_sockets) unlink(p.c_str());
  });
  TRY(OpenApiListeners(config, options, created_sockets));

  ApplyCgroupTuning(config);
  EngineContext engine;
  engine.host = ProbeHost();
  engine.config = config;
  engine.engine_id = TRY_CTX(EngineId(config.data_root), "engine id");

  // Before the stores and the containers, which discard into it: destroyed after them.
  auto trash = TRY(Trash::Open({config.data_root + "/trash", config.exec_root + "/trash"}));
  ImageStores images = TRY_CTX(OpenImageStores(config.data_root), "open image stores");
  images.snapshots->SetContainerTreeRemover(
      [t = trash.get()](const std::string& dir) { return t->Discard(dir); });
  engine.images = &images;
  registry::RegistryHosts::Options host_options;
  host_options.insecure_registries = config.insecure_registries;
  host_options.registry_mirrors = config.registry_mirrors;
  host_options.certs_dir = "/etc/berth/certs.d";
  registry::RegistryHosts registry_hosts(host_options);
  EventBus events;
  ImageContext image_context{&images, &registry_hosts};
  image_context.events = &events;

  Router router;
  AddSystemRoutes(router, &engine);
  AddImageRoutes(router, &image_context);
  auto containers =
      TRY_CTX(ContainerStore::Open(config.data_root + "/containers"), "open container store");
  ContainerContext container_context;
  container_context.images = &images;
  container_context.containers = containers.get();
  container_context.data_root = config.data_root;
  container_context.exec_root = config.exec_root;
  container_context.shim_binary = DefaultShimPath();
  if (auto view = sys::OpenReadOnlyView(container_context.shim_binary)) {
    container_context.shim_view = std::move(*view);
    container_context.shim_exec_path = sys::FdPath(container_context.shim_view.get());
  } else {
    base::LogWarn("shims run from their writable file: {}", view.error().message());
  }
  ShimPool shim_pool(container_context.shim_exec_path.empty() ? container_context.shim_binary
                                                              : container_context.shim_exec_path,
                     container_context.shim_binary, config.exec_root + "/seccomp-hint.json");
  shim_pool.Start();
  container_context.shim_pool = &shim_pool;
  container_context.init_path = config.init_path;
  container_context.default_init = config.init;
  container_context.host = ProbeSpecHostFacts();
  container_context.events = &events;
  container_context.trash = trash.get();
  // Work after a request, off its path (a spare container layer, detaching a started
  // container's rootfs): its threads end before the context and the stores go. At idle
  // priority: right after a create, the CPUs belong to the container being set up.
  WorkerPool background(1, std::chrono::seconds(30), /*idle_priority=*/true);
  container_context.background = &background;
  background.Run([&images] { (void)images.snapshots->MakeSpareContainerDir(); });
  // Declared after the context: destroyed (its thread joined) before it.
  ContainerMonitor monitor(&container_context);
  container_context.monitor = &monitor;
  TRY_CTX(monitor.Start(), "container monitor");
  AddContainerRoutes(router, &container_context);
  Server server(std::move(options), &router);
  TRY(server.Start());
  // Containers of an earlier berthd: their shims kept them running (or recorded their exits).
  monitor.Recover();

  if (auto st = NotifySystemd(fmt::format("READY=1\nMAINPID={}", getpid())); !st)
    base::LogWarn("sd_notify: {}", st.error().message());
  base::LogInfo("berthd {} started (API {}), pid {}", api::GetBuildInfo().version, api::kApiVersion,
                getpid());

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  base::LogInfo("received signal {}, shutting down", sig);
  (void)NotifySystemd("STOPPING=1");
  server.Stop();
  events.Close();
  server.Wait();
  base::LogInfo("berthd stopped");
  return {};
}

}  // namespace berth::daemon
