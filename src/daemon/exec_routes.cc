// Exec: create/start/inspect/resize of extra processes in a running container.
#include "daemon/container_internal.h"

namespace berth::daemon {

void AddExecRoutes(Router& router, ContainerContext* ctx) {
  (void)router;
  (void)ctx;
}

}  // namespace berth::daemon
