// The container commands (run, create, start, attach, exec, ps, logs, stop, kill, restart, rm,
// wait, inspect, top, stats, rename, pause, unpause), registered on the root command and on
// `berth container`. One file per group: container_run.cc (create/run/start/attach and the
// create body), container_exec.cc, container_ps.cc, container_ops.cc (the one-request
// commands, logs, inspect, top, stats).
//
// Exit codes follow docker: run/create/start -a 125 for a daemon or flag error, 126/127 when the
// command cannot be invoked or found, else the container's status; the other commands 1 on any
// failure (after trying every container they were given).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "client/client.h"

namespace berth::cli {

// docker's exit codes for run/create/start -a: the command could not be invoked / was not found.
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;
// The exit code of a failed container command other than run/create.
inline constexpr int kExitCommandError = 1;

// A parsed command, waiting for the client Main creates after parsing.
using Action = std::function<int(client::Client&)>;

// What the command groups share with Main while argv is parsed.
struct CommandSet {
  // Set by the callback of the subcommand that was parsed.
  Action action;
  // Commands whose first positional argument ends option parsing: everything after it
  // (`run IMAGE sh -c 'x'`, `exec C ls -l`, `top C -o pid`) belongs to the container's command,
  // as docker's flag.SetInterspersed(false) has it. Main moves those words into `trailing`
  // before CLI11 sees them, so that a `-c` or a word like `ps` is never taken for ours.
  std::set<const CLI::App*> split_after_first_positional;
  std::vector<std::string> trailing;
  // The one command to register, by its name ("" = all): Main sets it to the command word when
  // that names a top-level container command, since CLI11 builds every option eagerly.
  std::string only;
  bool Wants(std::string_view name) const { return only.empty() || only == name; }
};

// Registration, one function per group; `parent` is the root app or `container`. `ps` is
// registered as "ps" on the root and as "ls"/"list"/"ps" under `container`.
void AddRunCommands(CLI::App& parent, CommandSet& set);
void AddExecCommand(CLI::App& parent, CommandSet& set);
void AddPsCommand(CLI::App& parent, CommandSet& set, bool management);
void AddOpsCommands(CLI::App& parent, CommandSet& set, bool management);
void AddObserveCommands(CLI::App& parent, CommandSet& set);

// The flags of `run` and `create`.
struct ContainerOptions {
  std::string name, workdir, user, memory, cpuset_cpus, restart, hostname, network, platform;
  std::optional<std::string> entrypoint;  // set, even to "", resets the image's
  bool detach = false, interactive = false, tty = false, rm = false, privileged = false,
       read_only = false, init = false;
  double cpus = 0;
  int64_t cpu_shares = 0, pids_limit = 0;
  std::vector<std::string> env, env_files, volumes, mounts, tmpfs, labels, cap_add, cap_drop,
      security_opt, ulimits, publish;
  std::string image;
  std::vector<std::string> command;
};

// The POST /containers/create body (Config, HostConfig, NetworkingConfig) for `o`, encoded as the
// docker CLI encodes its flags (docs §2.2). `console` is the terminal's {rows, cols} for -t ({0,0}
// when unknown). Bad flag values fail with kInvalidArgument in docker's wording ("invalid
// argument "x" for "-m, --memory" flag: ..."). Reads --env-file files and the environment (for
// `-e NAME` without a value).
base::Result<nlohmann::json> BuildCreateBody(const ContainerOptions& o,
                                             std::pair<int, int> console);

// docker's units.RAMInBytes: "64m" -> 67108864 (binary units, optional "b"/"ib" suffix).
base::Result<int64_t> ParseRamBytes(std::string_view text);

// docker's toStatusError: the exit code for a failed start, from the daemon's text.
int StartErrorExitCode(std::string_view message);

// "/v1.41" + path.
std::string ApiPath(std::string_view path);

// The answer as an error when its status is not 2xx (304, "nothing to do", counts as success).
base::Status CheckStatus(const base::Result<client::Response>& response);

// Prints `error` as docker prints a failed command's error ("Error response from daemon: ...", or
// the connect error) and returns kExitCommandError.
int CommandError(const client::Client& client, const base::Error& error);

// Reads a hijacked stream to the end, with resizes for a TTY and docker's signal proxy without
// one; returns the stream's error. `resize_target` is "/containers/ID/resize" or
// "/exec/ID/resize"; `kill_target` (empty: no proxy) is "/containers/ID/kill".
base::Status StreamContainer(client::Client& client, client::Connection& conn, bool tty,
                             bool send_stdin, const std::string& resize_target,
                             const std::string& kill_target);

// Sends the terminal size to `resize_target` (docker retries the first one 10 times, 10·n ms
// apart, because the process may not have its pty yet). Nothing when stdout is not a terminal.
void ResizeTty(client::Client& client, const std::string& resize_target, bool retry);

}  // namespace berth::cli
