// Image references, parsed and normalised like Docker (distribution/reference):
//   "busybox"                 -> docker.io/library/busybox:latest
//   "localhost:5000/a/b:t"    -> localhost:5000/a/b:t
//   "name@sha256:..."         -> docker.io/library/name@sha256:...
//   "name:tag@sha256:..."     -> tag and digest both kept (the digest wins when pulling)
// Errors use Docker's wording: "invalid reference format",
// "invalid reference format: repository name must be lowercase".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "oci/digest.h"

namespace berth::oci {

inline constexpr const char* kDefaultDomain = "docker.io";
inline constexpr const char* kDefaultTag = "latest";

struct ImageReference {
  std::string domain;  // "docker.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when only a digest was given
  std::optional<Digest> digest;

  std::string Name() const { return domain + "/" + path; }  // docker.io/library/busybox
  // Full normalised form: docker.io/library/busybox:latest[@sha256:...]
  std::string String() const;
  // Docker's short forms: "busybox", "busybox:latest", "localhost:5000/a/b:t".
  std::string FamiliarName() const;
  std::string FamiliarString() const;
  bool operator==(const ImageReference&) const = default;
};

// Normalises and adds the default tag "latest" when neither tag nor digest is given.
base::Result<ImageReference> ParseReference(std::string_view text);
// As ParseReference but never adds a tag (for "docker pull -a"-like and repository filters).
base::Result<ImageReference> ParseNamedReference(std::string_view text);
// The registry host to contact: "docker.io" -> "registry-1.docker.io"; others unchanged.
std::string RegistryHost(const std::string& domain);

}  // namespace berth::oci
