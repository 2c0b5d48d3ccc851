// The berth-shim command line: what berthd passes when it spawns one shim per container.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::oci {
struct KnownSeccomp;
}

namespace berth::shim {

struct ShimOptions {
  std::string id;      // the container (in exec mode: the one to exec in)
  std::string bundle;  // container mode only
  // Exec mode (--exec --process <process.json>): instead of creating the container, run one
  // more process in the running container `id` (the runtime library's exec path), with the
  // same stdio ownership, attach/control sockets and exit.json; the container is left alone
  // when the process ends. The process's host pid is written to exec.pid in the state dir.
  bool exec = false;
  std::string process;       // exec mode: an OCI process.json (args, env, cwd, user, terminal)
  std::string state_dir;     // shim.pid, exit.json, attach.sock, control.sock
  std::string runtime_root;  // the runtime library's state root
  bool tty = false;          // must match process.terminal in the bundle's config.json
  bool stdin = false;        // give the container a stdin pipe fed by attach clients
  bool stdin_once = false;   // an attach client's EOF closes the container's stdin
  bool keep = false;         // leave the runtime state and cgroup after exit
  // The container is removed after its exit (--rm), so nothing mounts its rootfs again: the
  // shim may let the container's mount namespace go after it has removed shim.pid (see
  // Shim::Finish).
  bool auto_remove = false;
  // Prelaunch (standby mode only; standby.h): the container is created as soon as berthd says
  // its rootfs is mounted, ahead of its start, and waits at its process's execve for the start
  // record on the standby socket, kPrelaunchWaitMs at most; then the shim goes on as an
  // assigned one does. The socket's EOF or the wait's end instead: the container is removed
  // and the shim exits.
  bool prelaunch = false;
  // Prelaunch only: the linux.cgroupsPath the config will name (--prelaunch-cgroups), so that
  // the container's cgroups are made while berthd is still writing the config. Empty: none.
  std::string prelaunch_cgroups;
  bool foreground = false;    // do not daemonize (debugging; berthd never passes it)
  std::string log_path;       // json-file log; none when empty
  int64_t log_max_size = -1;  // bytes; -1 = unlimited
  int log_max_file = 1;       // files kept, the live one included
  std::string detach_keys = "ctrl-p,ctrl-q";
  // Inherited, already connected attach clients (--attach-fd N, repeatable): berthd hands over
  // the hijacked connections of `docker run`/`start -a`, which attached before the container
  // started, so that they see its output from the first byte.
  std::vector<int> attach_fds;
  // Standby mode only (no flag): a network namespace the standby made while it waited, for the
  // container to join instead of creating one (runtime::CreateOptions::spare_netns). The shim
  // owns it and closes it once the launch is over. -1: none.
  int spare_netns = -1;
  // Standby mode only (no flag): the standby socket, where a prelaunched shim waits for its
  // start. -1: none.
  int start_channel = -1;
  // Standby mode only (no flag): the seccomp profile the standby parsed while it waited
  // (RunStandby's hint), for the config's parse (oci::ParseSpecWith); the shim lets it go once
  // the config is parsed (~24 KB of a running shim's heap otherwise). Null: none.
  std::shared_ptr<const oci::KnownSeccomp> known_seccomp;
};

// Parses argv (without argv[0]). Flags take their value as the next argument or after '='.
// InvalidArgument names the flag at fault; a missing --id/--state-dir/--runtime-root is an
// error, and so is a missing --bundle (container mode) or --process (exec mode), or either of
// them given in the other mode.
base::Result<ShimOptions> ParseOptions(const std::vector<std::string>& args);

// Makes the path options absolute against the current directory (the daemon runs from "/").
base::Status MakeAbsolute(ShimOptions& options);

// Docker's detach-key syntax: "ctrl-p,ctrl-q", "a,ctrl-[,b" -> the byte sequence.
// InvalidArgument on anything else; "" is an empty sequence (detaching disabled).
base::Result<std::string> ParseDetachKeys(const std::string& spec);

}  // namespace berth::shim
