// Helpers shared by the spec generator's translation units; not part of its API.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "daemon/spec/create_request.h"

namespace berth::daemon::spec::internal {

// Go's filepath.Clean for absolute paths: no "//", ".", ".." or trailing "/".
std::string CleanPath(std::string_view p);
// dockerd's validateMountConfig minus the checks that need the host (bind source existence).
base::Status ValidateMountRequest(const MountRequest& m);

}  // namespace berth::daemon::spec::internal
