// OCI image-spec and Docker schema2 value types: descriptors, manifests, indexes (manifest
// lists), image configs, platforms, media types; JSON parse/serialise; platform selection.
// Pure: no I/O. Parse errors are InvalidArgument and name the field ("layers[2].digest: ...").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/digest.h"

namespace berth::oci {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

enum class Compression { kNone, kGzip, kZstd };
// From a layer media type; InvalidArgument for non-layer types.
base::Result<Compression> LayerCompression(std::string_view media_type);
bool IsIndexMediaType(std::string_view media_type);
bool IsManifestMediaType(std::string_view media_type);

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64"
  std::string variant;       // "v8", "v7"
  std::string os_version;
  std::vector<std::string> os_features;
  bool operator==(const Platform&) const = default;
};

// The platform of this process: linux/amd64 (or arm64/v8 ...), from uname/compile target.
Platform HostPlatform();
// linux/<GOARCH>[/variant] for a uname(2) machine name: "x86_64" -> amd64, "aarch64" ->
// arm64/v8, "armv7l" -> arm/v7, "i686" -> 386; names that already are GOARCH names pass through.
Platform PlatformForMachine(std::string_view machine);
// Parses "linux/arm64/v8"; InvalidArgument for junk.
base::Result<Platform> ParsePlatform(std::string_view text);
// containerd-style match: os and architecture equal; variant equal after normalising
// (arm64 "" == "v8", arm "" == "v7").
bool PlatformMatches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  bool operator==(const Descriptor&) const = default;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // may be empty in OCI manifests
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
  bool operator==(const Manifest&) const = default;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
  bool operator==(const Index&) const = default;
};

// The parts of an image config (OCI config / Docker "container config") berth acts on.
// The config blob itself is kept verbatim; this is a view.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<std::vector<std::string>> healthcheck_test;
  bool operator==(const ContainerConfig&) const = default;
};

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids, uncompressed layer digests
  std::vector<HistoryEntry> history;
  bool operator==(const ImageConfig&) const = default;
};

base::Result<Descriptor> ParseDescriptor(std::string_view json_text);
base::Result<Manifest> ParseManifest(std::string_view json_text);
base::Result<Index> ParseIndex(std::string_view json_text);
base::Result<ImageConfig> ParseImageConfig(std::string_view json_text);
// The mediaType a manifest-ish document declares, or "" (OCI allows omitting it; then
// "manifests" -> index, "layers" -> manifest).
base::Result<std::string> DetectManifestMediaType(std::string_view json_text);

std::string SerializeDescriptor(const Descriptor& d);
std::string SerializeManifest(const Manifest& m);  // compact, stable key order
std::string SerializeIndex(const Index& i);
std::string SerializeImageConfig(const ImageConfig& c);

// Picks the manifest for `want` from an index; NotFound:
// "no matching manifest for linux/amd64 in the manifest list entries".
base::Result<Descriptor> SelectPlatform(const Index& index, const Platform& want);

// The chain ID of layers[0..n] (image-spec config.md): chain(0)=diff(0),
// chain(n)=sha256(chain(n-1) + " " + diff(n)).
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

}  // namespace berth::oci
