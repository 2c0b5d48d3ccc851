// Helpers shared by the integration tests: running commands, reading files, spawning and killing
// daemons, and building registry blobs. Test-only; never linked into a product binary.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "oci/image_spec.h"

namespace berth::test_support {

// The whole file, or "" when it cannot be read.
std::string ReadAll(const std::string& path);
// Runs `cmd` with sh, stderr merged into stdout; returns {exit status or -1, output}.
std::pair<int, std::string> Shell(const std::string& cmd);
// posix_spawn of args[0] (an absolute path) with stdout and stderr to `log`; -1 on failure.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log);
// SIGKILL and reap; no-op for pid <= 0.
void Kill(pid_t pid);
// Debian's interpreter, which has python3-docker (scripts/setup); a python3 earlier on PATH
// (pyenv) may lack it.
std::string Python();

// A blob with its descriptor, as pushed to a registry.
struct Blob {
  std::string bytes;
  oci::Descriptor desc;
};
Blob MakeBlob(std::string bytes, const std::string& media_type);
// mediaType, digest, size and (when set) platform, as manifests and indexes list descriptors.
nlohmann::json DescriptorJson(const oci::Descriptor& d);

}  // namespace berth::test_support
