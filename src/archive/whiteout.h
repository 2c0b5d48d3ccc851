// OCI / AUFS whiteout names in layer tars and their overlayfs forms on disk (image-spec
// layer.md "Whiteouts"; kernel Documentation/filesystems/overlayfs.rst).
#pragma once

#include <string_view>

namespace berth::archive {

// ".wh.<name>" in a layer deletes <name> from the layers below.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
// AUFS bookkeeping (".wh..wh.plnk", ".wh..wh.aufs"): never content, skipped on extraction.
inline constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
// ".wh..wh..opq" in a directory hides everything the layers below have in it.
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";
// overlayfs: a whiteout is a 0:0 character device; an opaque directory carries this xattr = "y".
inline constexpr std::string_view kTrustedOpaqueXattr = "trusted.overlay.opaque";
// The same for overlay mounted with "userxattr" (unprivileged overlay in a user namespace).
inline constexpr std::string_view kUserOpaqueXattr = "user.overlay.opaque";

}  // namespace berth::archive
