// Attach: the hijacked connection bridged to the shim's attach.sock, and resize.
#include "daemon/container_internal.h"

namespace berth::daemon {

void AddAttachRoutes(Router& router, ContainerContext* ctx) {
  (void)router;
  (void)ctx;
}

}  // namespace berth::daemon
