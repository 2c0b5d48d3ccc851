// berthd's lifecycle: directories, pid file, API sockets, server, readiness, and a graceful stop
// on SIGTERM/SIGINT (stop accepting, answer in-flight requests, remove socket and pid file).
#pragma once

#include "base/result.h"
#include "daemon/config.h"

namespace berth::daemon {

// Runs until SIGTERM or SIGINT. Must be called from the main thread before any other thread
// exists: it blocks those signals process-wide and waits for them with sigwait. Errors are
// start-up failures (another daemon on the socket, unwritable roots, ...).
base::Status RunDaemon(const DaemonConfig& config);

}  // namespace berth::daemon
