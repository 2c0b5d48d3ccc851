// Build facts, filled in by CMake (see CMakeLists.txt) for this file only.
#include "api/build_info.h"

namespace berth::api {
namespace {

#define BERTH_STR2(x) #x
#define BERTH_STR(x) BERTH_STR2(x)
#if defined(__clang__)
constexpr std::string_view kCompiler = "clang " __clang_version__;
#elif defined(__GNUC__)
constexpr std::string_view kCompiler =
    "gcc " BERTH_STR(__GNUC__) "." BERTH_STR(__GNUC_MINOR__) "." BERTH_STR(__GNUC_PATCHLEVEL__);
#else
constexpr std::string_view kCompiler = "unknown";
#endif

}  // namespace

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info{BERTH_VERSION, BERTH_GIT_COMMIT, BERTH_BUILD_TIME, kCompiler};
  return info;
}

}  // namespace berth::api
