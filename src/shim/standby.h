// Standby mode (`berth-shim --standby`): berthd keeps one shim started ahead of need, so that a
// container start pays neither the shim's exec and start-up nor its daemonizing forks.
//
// Protocol, over a SOCK_SEQPACKET socket the standby finds at fd 3 (kStandbyFd):
//   1. The standby daemonizes at once (Daemonize: the process berthd spawned exits 0 when the
//      daemon is ready to wait) and blocks on the socket.
//   2. berthd sends one record: the shim's arguments as it would pass them on a command line
//      (without argv[0]), each followed by a NUL byte, with the attach fds (SCM_RIGHTS) that
//      --attach-fd would have named; berthd sends no --attach-fd of its own.
//   3. The standby runs as that shim (RunShim), reporting on the same socket: one record, "ok\n"
//      once the container (or exec process) runs, else the error text; then it closes it.
// EOF before step 2 (berthd stopped, was killed, or dropped its standby) ends the standby with
// exit status 0; it has created nothing yet.
//
// Prelaunch (the arguments include --prelaunch; berthd sends them early in the container's
// create, without fds, and goes on with the create): the standby sets up what it can, waits
// for a "config" record (the bundle's config.json is written), reads it and sets up more,
// waits for a "mounted" record (the rootfs is mounted), creates the container up to its
// process's execve, and the container's init sends "ready\n" (else the standby reports the
// error text, with nothing left behind, and exits). The init then waits for the "start" record
// (with the attach fds), execs, and the standby takes the record's fds and goes on as in step 3
// ("ok\n" once the container runs). EOF instead of any of these records (berthd removed the
// container, or stopped), or no record within kPrelaunchWaitMs: the standby removes the
// container and exits without a report, so that EOF on berthd's end means its cleanup is done.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/runtime_config.h"

namespace berth::shim {

inline constexpr int kStandbyFd = 3;
// Limits of the assignment record.
inline constexpr size_t kMaxAssignmentBytes = 64 * 1024;
inline constexpr size_t kMaxAssignmentFds = 64;
// How long a prelaunched container waits for its start: `docker run` starts within
// milliseconds of its create; a container created for later goes back to having no process.
inline constexpr int kPrelaunchWaitMs = 2000;
inline constexpr std::string_view kConfigRecord = "config";
inline constexpr std::string_view kMountedRecord = "mounted";
inline constexpr std::string_view kStartRecord = "start";

// The record of step 2 for `args` (argv without argv[0]), and back.
std::string EncodeAssignment(const std::vector<std::string>& args);
std::vector<std::string> DecodeAssignment(std::string_view record);

// What the standby does while it waits: parses a sample OCI config, so that the assigned
// container's parse runs warm. True when the sample parsed (tests).
bool WarmUp();

// `berth-shim --standby [--seccomp-hint FILE]`: FILE holds a linux.seccomp value as berthd's
// configs write it (oci::SeccompValueText of its last container's profile), parsed while the
// standby waits so that a config with the same profile parses faster. Null when the arguments
// are not these.
struct StandbyArgs {
  std::string seccomp_hint;
};
std::optional<StandbyArgs> ParseStandbyArgs(const std::vector<std::string>& args);
// The hint's profile; nullopt when the file is missing or does not parse (the config is then
// parsed whole, as without a hint).
std::optional<oci::KnownSeccomp> LoadSeccompHint(const std::string& path);

// Runs the standby protocol on kStandbyFd; returns the process exit status.
int RunStandby(const StandbyArgs& args = {});

}  // namespace berth::shim
