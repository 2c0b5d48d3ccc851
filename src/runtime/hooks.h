// OCI lifecycle hooks: each runs with the container state JSON on stdin, in order, with an
// optional timeout (seconds) after which it is killed.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"

namespace berth::runtime {

// Runs hooks in order; stops at the first failure. `phase` names them in errors
// ("createRuntime hook #1 (/usr/bin/x): exit status 1: <its output>").
base::Status RunHooks(const std::vector<oci::Hook>& hooks, const std::string& phase,
                      const std::string& state_json);

// Hands a seccomp user-notification fd to the agent at listener_path (runtime-spec
// config-linux.md "seccomp"): one message whose payload is the ContainerProcessState JSON
// ({ociVersion, fds:["seccompFd"], pid, metadata, state}) and whose SCM_RIGHTS carries the fd.
base::Status SendSeccompListener(const std::string& listener_path, const std::string& metadata,
                                 int listener_fd, int pid, const std::string& state_json);

}  // namespace berth::runtime
