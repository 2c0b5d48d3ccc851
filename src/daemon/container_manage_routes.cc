// Routes that change a container's standing: pause/unpause, rename, restart, update, prune.
#include "daemon/container_internal.h"

namespace berth::daemon {

void AddManageRoutes(Router& router, ContainerContext* ctx) {
  (void)router;
  (void)ctx;
}

}  // namespace berth::daemon
