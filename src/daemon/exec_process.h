// What an exec runs: the OCI process (process.json for the exec-mode berth-shim) built from the
// container's own process and the exec's config, the way dockerd builds it (the container's env
// overridden by the exec's, its user and working dir unless the exec names others), and the
// exit code an exec that failed to start gets. Pure: callers read the files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "daemon/exec_store.h"
#include "oci/runtime_config.h"

namespace berth::daemon {

// Resolves "user[:group]" (names or numbers) against the contents of the container's
// /etc/passwd and /etc/group ("" when missing), like runc's GetExecUser: a numeric user need
// not exist (gid 0 then); a named one must ("unable to find user x: no matching entries in
// passwd file", InvalidArgument); without an explicit group the user's primary group applies
// and the groups listing the user become additional gids.
base::Result<oci::User> ResolveExecUser(std::string_view spec, std::string_view passwd,
                                        std::string_view group);

// The home directory of `uid` in passwd, "/" when it has none.
std::string HomeOf(uint32_t uid, std::string_view passwd);

// dockerd's ReplaceOrAppendEnvValues: `overrides` replace same-named variables of `base`, new
// ones are appended; a bare "NAME" removes NAME.
std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& overrides);

struct ExecProcessInputs {
  oci::Process container;  // process of the container's config.json
  ExecConfig config;
  // Set when config.user is not empty: the resolved user.
  std::optional<oci::User> user;
  std::string home;  // HOME for the exec's user when the env has none ("" = leave it)
  // config.privileged: every capability the host has.
  std::vector<std::string> privileged_caps;
};

// The process to exec: args = Cmd, env merged (TERM=xterm added with a tty, as dockerd does),
// cwd and user from the exec or else the container, terminal and console size from the exec.
oci::Process BuildExecProcess(const ExecProcessInputs& in);

// The process as process.json (the "process" object of a config.json).
std::string SerializeProcess(const oci::Process& process);

// The exit code of an exec whose start failed, from the error text: 127 when the command was not
// found, 126 otherwise (what the docker CLI reports for "OCI runtime exec failed").
int ExecStartFailureCode(std::string_view message);

// The text dockerd writes into the stream when the start fails after the hijack.
std::string ExecStartFailureText(std::string_view message);

}  // namespace berth::daemon
