// The runtime's operations on containers, one method per runc command. Single-threaded by
// contract: create, run and exec clone the container process from the calling process.
// Errors carry runc's wording where callers string-match it ("container does not exist",
// "container not running", "container with given ID already exists").
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "runtime/state_store.h"
#include "sys/unique_fd.h"

namespace berth::runtime {

struct RuntimeOptions {
  std::string root;  // state dir; DefaultStateRoot() when empty
  bool systemd_cgroup = false;
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  int preserve_fds = 0;
  // The bundle's config.json as the caller already read and parsed it (berth-shim checks it
  // before the launch): used instead of reading and parsing the file a second time.
  std::optional<oci::Spec> spec;
  std::string config_text;  // with `spec`: the text it was parsed from
  // A network namespace made ahead (linux::NewNetworkNamespace; the caller keeps the fd): the
  // init joins it instead of creating one when the config asks for a new one and no user
  // namespace (linux::UseSpareNetworkNamespace). -1: none.
  int spare_netns = -1;
  // Launch only, prelaunch (berth-shim creating a container ahead of its start): a
  // SOCK_SEQPACKET socket on which the init, set up and about to exec, sends "ready\n" and
  // then waits (prelaunch_wait_ms at most) for a record, which it leaves unread for the caller;
  // then it execs. EOF or no record in time ends the launch with Unavailable, nothing left
  // behind. Needs a launch whose init runs while the caller is suspended (no user namespace,
  // hooks or seccomp listener): otherwise Unavailable at once. -1: none.
  int prelaunch_fd = -1;
  int prelaunch_wait_ms = 0;
  // Launch only: runs just before the clone, when everything the init does not need is done
  // (berth-shim waits there for the rootfs, which berthd mounts meanwhile). An error ends the
  // launch.
  std::function<base::Status()> before_clone;
};

struct ExecOptions {
  std::string id;
  oci::Process process;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};

// What Launch hands back: the container init (a child of the caller) and, when process.terminal
// is set and no console socket was given, the pty master.
struct Launched {
  pid_t pid = 0;
  sys::UniqueFd pty_master;
  // The container's cgroups (subsystem -> host dir), as recorded in its state.
  std::map<std::string, std::string> cgroup_paths;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);

  base::Status Create(const CreateOptions& options);
  base::Status Start(const std::string& id);
  // Returns the container's exit code (foreground) or 0 (detach).
  base::Result<int> Run(const CreateOptions& options, bool detach, bool keep);
  // `run --detach` for a caller that stays the init's parent (the shim): creates and starts the
  // container and returns without waiting. The init inherits the caller's fds 0, 1 and 2 unless
  // process.terminal is set; a terminal without console_socket returns the pty master. The
  // caller must reap the init and then call Delete. On error nothing is left behind.
  base::Result<Launched> Launch(const CreateOptions& options);
  base::Result<oci::State> State(const std::string& id);
  base::Status Kill(const std::string& id, int signal, bool all);
  // `poststop` false: the caller knows the config has no poststop hooks, so it is not read
  // and parsed again (berth-shim, on every container exit).
  base::Status Delete(const std::string& id, bool force, bool poststop = true);
  // Foreground: the process's exit code. Errors before the process starts: caller exits 255.
  base::Result<int> Exec(const ExecOptions& options);
  base::Status Pause(const std::string& id);
  base::Status Resume(const std::string& id);
  base::Status Update(const std::string& id, const oci::Resources& resources);
  base::Result<std::vector<pid_t>> Ps(const std::string& id);
  base::Result<std::vector<oci::State>> List();
  // The process exec starts from: the container's own process settings (env, user, caps...).
  base::Result<oci::Process> BaseExecProcess(const std::string& id);

 private:
  enum class Mode { kCreate, kRunForeground, kRunDetached, kLaunch };
  struct Created;
  base::Result<Created> CreateContainer(const CreateOptions& options, Mode mode);
  // Lets a created init exec (unless it already has); an exec error removes the container.
  base::Status StartCreated(Created& created);
  base::Status Destroy(const ContainerRecord& rec, const oci::Spec* spec);

  RuntimeOptions options_;
  StateStore store_;
};

// What a Launch does that depends on no container (the caller's user name for the state, the
// stack the init is cloned onto), done ahead by a process that waits for one: the standby shim.
void PrepareLaunch();

// Writes a pid file the way runc does: dot-prefixed temp file in the same dir, then rename.
base::Status WritePidFile(const std::string& path, pid_t pid);

}  // namespace berth::runtime
