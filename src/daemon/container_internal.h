// What the container route files share: where a container's files live, how its state is
// brought up to date from its shim, and the shim control requests. Internal to src/daemon.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/container_routes.h"
#include "daemon/container_store.h"
#include "daemon/spec/create_request.h"
#include "sys/unique_fd.h"

namespace berth::daemon {

class WorkerPool;

class FrameFilter;

// `bytes` random bytes as lowercase hex (ids).
std::string RandomHex(size_t bytes);

// Where one container's files are: the bundle under exec-root, the shim's state dir, the
// runtime library's root, the persistent data dir (hosts, resolv.conf, log) under data-root.
struct Paths {
  std::string bundle, rootfs, state, runtime_root, log, data;
};
Paths PathsOf(const ContainerContext* ctx, const std::string& id);
// Where the container's hostname, hosts and resolv.conf live. A --rm container's go with its
// runtime state in the exec root (as podman keeps every container's in its runroot): they end
// with it, and the exec root is a tmpfs on systemd hosts, while a new inode on the data root's
// disk costs 0.05-0.5 ms here between `run` and the container's start. Others' stay in the
// data root, where dockerd has them.
std::string NetworkFilesDir(const ContainerContext* ctx, const ContainerRecord& rec);

// Brings rec.state up to date with the shim's state dir: exit.json = exited; a shim that died
// without writing it (SIGKILLed) = exited with 255. Persists a change unless `persist` is false
// (the caller persists the record itself, or removes it).
void Refresh(const ContainerContext* ctx, ContainerRecord& rec, bool persist = true);
// Find() then Refresh().
base::Result<ContainerRecord> FindFresh(const ContainerContext* ctx, const std::string& name);
// Polls for the container to stop running; false on timeout (negative: none).
bool WaitExit(const ContainerContext* ctx, ContainerRecord& rec, std::chrono::milliseconds limit);

// One request line on the shim's control.sock ("kill SIG", "resize H W"); the reply must be
// "ok", otherwise its text is the error.
base::Status ShimControl(const ContainerContext* ctx, const std::string& id,
                         const std::string& line);

// The same on the control.sock in `state_dir` (exec shims).
base::Status ShimControlAt(const std::string& state_dir, const std::string& line);

// Mounts the container's snapshot at `target` (replacing an earlier mount there).
// Creates `dir` (process.cwd) inside the mounted rootfs when it is missing, root-owned 0755 like
// dockerd, resolving it inside the rootfs (a symlink in the image cannot lead out). "" and "/"
// are left alone; an existing non-directory fails.
base::Status MakeWorkingDir(const std::string& rootfs, const std::string& dir);
// `throwaway` (an AutoRemove container, whose layer is deleted when it exits): mounted with
// overlayfs's "volatile", which skips syncing the upper filesystem, above all the sync of the
// whole upper filesystem at unmount that sits between the container's exit and `run --rm`
// returning (podman does the same for --rm). Where the kernel lacks it, mounted without.
base::Status MountRootfs(const ContainerContext* ctx, const std::string& id,
                         const std::string& target, bool throwaway = false);
// Lazy unmount; errors other than "not mounted" are logged.
void UnmountRootfs(const std::string& target);
// Once the container runs, its init has the rootfs in its own mount namespace and the host's
// mount at `target` is only in the way: unmounting it at the container's exit waits for an RCU
// grace period (0.1-0.8 ms here, behind the kernel's other expedited ones), between the exit
// and `run --rm` returning. Detaches the mount `target` holds now, on ctx->background (inline
// without one); a later mount at the same path (a restart) is not touched, since the mount is
// named by an fd opened here. Readers of a running container's files go through
// RunningRootPath.
void DetachRootfsSoon(const ContainerContext* ctx, const std::string& target);
// The root directory of the container's files as its processes see them: its init's
// (/proc/<pid>/root) while it runs, else the rootfs mount point (mounted or not).
std::string RunningRootPath(const ContainerContext* ctx, const std::string& id);

// The berth-shim command line (argv[0] included) for container `rec` created by `cr`: stdin,
// --rm and log options come from the create request.
std::vector<std::string> ShimArgs(const ContainerContext* ctx, const ContainerRecord& rec,
                                  const Paths& p, const spec::CreateRequest& cr);
// Runs berth-shim for `rec` and waits until the container runs (or the shim's error). The
// attach connections that came before the start (see PendingAttaches) are handed over.
base::Status SpawnShim(ContainerContext* ctx, const ContainerRecord& rec, const Paths& p,
                       const std::vector<int>& attach_fds);
// Runs berth-shim with `args` (argv[0] included) and waits for its first process to report:
// ok, or the shim's error. `attach_fds` become its fds 3, 4, ... (--attach-fd is added).
base::Status RunShimProcess(const ContainerContext* ctx, std::vector<std::string> args,
                            const std::vector<int>& attach_fds);
// A json-file max-size: "10m", "512k", "1g", "4096" -> bytes.
base::Result<int64_t> ParseLogSize(std::string_view text);
// The init's pid from the runtime state, 0 when unknown.
int ReadInitPid(const Paths& p, const std::string& id);
// The pid in the container's shim.pid (which the shim removes last), 0 when there is none.
int ReadShimPid(const Paths& p);
// The container's shim while it still runs (its shim.pid, which it removes last, names a live
// berth-shim), as a pidfd; an invalid fd when there is none. After exit.json the shim still
// removes the container's cgroups and runtime state: a start or a removal waits for it.
sys::UniqueFd OpenRunningShim(const Paths& p);
// Waits up to `limit` for the shim behind `shim` (from OpenRunningShim) to exit.
void WaitForShimExit(const sys::UniqueFd& shim, std::chrono::milliseconds limit);
// Waits up to `limit` until the shim behind `shim` has finished with the container: it removed
// <state>/shim.pid, its last step after the container's cgroups and runtime state (the process
// itself may still be exiting), or it exited. Call it while the state dir is still in place.
// Closing the inotify instance it waits with waits for an SRCU grace period (0.2 ms in a trace
// of `run --rm`): with `closer`, that close runs there instead, after the caller went on.
void WaitForShimCleanup(const Paths& p, const sys::UniqueFd& shim, std::chrono::milliseconds limit,
                        WorkerPool* closer = nullptr);

// The contents of `path` resolved inside `rootfs` (symlinks cannot leave it); "" when absent.
std::string ReadInRoot(const std::string& rootfs, const std::string& path);

// The create request as stored (an object; {} when unparsable).
nlohmann::json ParseRequestJson(const ContainerRecord& rec);

// Thaws a paused container after a signal was sent to it: frozen tasks take no signal, not
// even KILL, until thawed (dockerd does the same). Clears state.paused; no-op when not paused.
void ThawSignalled(ContainerContext* ctx, ContainerRecord& rec);

// `signal` (TERM or the stop signal), then KILL after `timeout` seconds; returns once the
// container has exited.
base::Status StopContainer(ContainerContext* ctx, ContainerRecord& rec, const std::string& signal,
                           int timeout);

// Publishes "die" for the run that just ended, once: the monitor and StopContainer both call
// it (under OpLock); state.exit_reported remembers it was done (persisted unless `persist` is
// false: the record is about to be removed).
void ReportExit(ContainerContext* ctx, ContainerRecord& rec, bool persist = true);

// Removes a stopped container: rootfs mount, snapshot, bundle, state and data dirs, pending
// attach connections, the record; publishes "destroy". The caller holds OpLock(id).
base::Status RemoveContainer(ContainerContext* ctx, const ContainerRecord& rec);

// Docker's event attributes of a container: its labels, name and image.
// Config.Labels of the create request (rec.labels when the create left them there).
std::map<std::string, std::string> LabelsOf(const ContainerRecord& rec);
std::map<std::string, std::string> ContainerEventAttributes(const ContainerRecord& rec);
// Publishes a container event (no-op without an event bus); `extra` adds attributes
// (exitCode, signal, execID, ...).
void PublishContainerEvent(ContainerContext* ctx, const ContainerRecord& rec,
                           const std::string& action,
                           const std::map<std::string, std::string>& extra = {});

// Starts a created or exited container (mounts its rootfs, spawns its shim): 204, 304 when it
// already runs, or the error. Blocks until the container runs; call off the I/O threads.
// by_policy: a restart of the restart policy, which a stop through the API (manually_stopped)
// cancels even when it comes in between the decision to restart and this call.
Response StartContainer(ContainerContext* ctx, const std::string& name_or_id,
                        bool by_policy = false);

// Copies between a hijacked client connection and a shim's attach.sock until the shim's side
// ends: `early` first to the shim; client bytes to the shim only with `forward_stdin`, whose
// EOF (the client's shutdown(SHUT_WR)) becomes a shutdown of the shim connection. Blocking;
// returns when the output ended or either side failed. `output`, when given, selects what of
// the shim's multiplexed output reaches the client.
void BridgeStreams(int client, const std::string& early, int shim, bool forward_stdin,
                   FrameFilter* output = nullptr);

// The route groups, each in a file of its own; AddContainerRoutes() calls them.
// container_manage_routes.cc: pause/unpause, rename, restart, update, prune.
void AddManageRoutes(Router& router, ContainerContext* ctx);
// container_observe_routes.cc: logs, top, stats, events.
void AddObserveRoutes(Router& router, ContainerContext* ctx);
// attach_routes.cc: attach (hijacked), resize.
void AddAttachRoutes(Router& router, ContainerContext* ctx);
// exec_routes.cc: exec create/start/inspect/resize.
void AddExecRoutes(Router& router, ContainerContext* ctx);
// The ids of the container's exec instances, oldest first (inspect's ExecIDs).
std::vector<std::string> ExecIdsOf(const ContainerContext* ctx, const std::string& container_id);
// For a container being removed: kills its running execs (their shims then clean up) and
// forgets its exec records. Execs also end by themselves when the container stops.
void EndExecs(ContainerContext* ctx, const std::string& container_id);

}  // namespace berth::daemon
