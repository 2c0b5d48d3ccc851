// Translates config.json mount options ("ro", "nosuid", "rbind", "rslave", "size=64m") into
// mount(2) flags, propagation flags and the fs-specific data string.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace berth::runtime::linux {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...
  unsigned long clear_flags = 0;  // flags explicitly turned off ("rw", "suid", ...)
  unsigned long propagation = 0;  // MS_PRIVATE / MS_SLAVE / MS_SHARED / MS_UNBINDABLE (| MS_REC)
  std::string data;               // comma-joined options the kernel fs parses ("size=64m,mode=755")
  bool bind = false;
  bool recursive_bind = false;
};

base::Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options);
// "private", "rslave", ... -> flags; InvalidArgument for anything else.
base::Result<unsigned long> ParsePropagation(const std::string& name);

}  // namespace berth::runtime::linux
