// What this build of berth is: version, commit, build time and compiler. Shown by `berth version`
// and served in GET /version.
#pragma once

#include <string_view>

namespace berth::api {

struct BuildInfo {
  std::string_view version;     // "0.1.0"
  std::string_view git_commit;  // short hash, or "unknown" outside a git checkout
  std::string_view build_time;  // RFC 3339, UTC (configure time; honours SOURCE_DATE_EPOCH)
  std::string_view compiler;    // "gcc 12.2.0"; goes where dockerd reports GoVersion
};

const BuildInfo& GetBuildInfo();

}  // namespace berth::api
