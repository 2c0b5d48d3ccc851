// docker import: a root filesystem tar becomes a one-layer image, optionally with config
// changes given as Dockerfile instructions (docker import --change "CMD [\"sh\"]").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/stream.h"
#include "base/result.h"
#include "image/content/content_store.h"
#include "image/metadata.h"
#include "oci/digest.h"
#include "oci/image_spec.h"

namespace berth::image {

struct ImportOptions {
  // The name to give the image ("busybox", normalised like docker); empty: untagged.
  std::string reference;
  // Dockerfile instructions applied to the config in order (see ApplyChange).
  std::vector<std::string> changes;
  // The history comment; empty: "Imported from -".
  std::string message;
  // os/architecture/variant of the config; default: the host's.
  std::optional<oci::Platform> platform;
  // RFC 3339 creation time; empty: now (UTC).
  std::string created;
};

// Applies one change to `config`, as docker import/commit --change does. Supported: CMD,
// ENTRYPOINT and VOLUME in JSON form (["a","b"]) or shell form (CMD and ENTRYPOINT become
// ["/bin/sh","-c","<text>"], VOLUME splits at spaces); ENV and LABEL as key=value pairs (quotes
// and backslash escapes as in a Dockerfile) or the legacy "KEY value"; EXPOSE ports
// ("80", "53/udp", "8000-8002"); WORKDIR (relative to the previous one); USER; STOPSIGNAL.
// Keywords are case-insensitive. No variable substitution. InvalidArgument for unknown or
// unsupported instructions and malformed arguments, naming the instruction.
base::Status ApplyChange(std::string_view change, oci::ContainerConfig& config);

// Reads a tar (plain, gzip or zstd) from `rootfs_tar` and stores it as the single layer
// (gzip-compressed) of a new image with a Docker schema2 manifest; records the image, tagged
// with options.reference when given. The tar must parse as a tar (InvalidArgument otherwise);
// its members are not otherwise checked: they are applied confined when the layer is unpacked.
// Returns the image ID (the config digest). The layer is not unpacked here.
// Errors: InvalidArgument for a bad reference, change or tar; store errors pass through.
base::Result<oci::Digest> Import(archive::ByteSource& rootfs_tar, ContentStore& content,
                                 MetadataStore& metadata, const ImportOptions& options = {});

}  // namespace berth::image
