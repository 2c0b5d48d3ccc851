// Mount option tables (mount(8) names).
#include "runtime/linux/mount_options.h"

#include <fmt/format.h>
#include <sys/mount.h>

#include <map>

namespace berth::runtime::linux {

namespace {
struct FlagOpt {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, FlagOpt>& FlagTable() {
  static const std::map<std::string, FlagOpt> table = {
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},
      {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},
      {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}},
      {"nomand", {true, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}},
      {"atime", {true, MS_NOATIME}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"diratime", {true, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}},
      {"silent", {false, MS_SILENT}},
      {"loud", {true, MS_SILENT}},
  };
  return table;
}
}  // namespace

base::Result<unsigned long> ParsePropagation(const std::string& name) {
  static const std::map<std::string, unsigned long> table = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  auto it = table.find(name);
  if (it == table.end())
    return base::Fail(
        base::Error::InvalidArgument(fmt::format("unknown propagation \"{}\"", name)));
  return it->second;
}

base::Result<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& o : options) {
    if (o == "bind") {
      out.bind = true;
      out.flags |= MS_BIND;
      continue;
    }
    if (o == "rbind") {
      out.bind = out.recursive_bind = true;
      out.flags |= MS_BIND | MS_REC;
      continue;
    }
    if (auto it = FlagTable().find(o); it != FlagTable().end()) {
      if (it->second.clear) {
        out.flags &= ~it->second.flag;
        out.clear_flags |= it->second.flag;
      } else {
        out.flags |= it->second.flag;
      }
      continue;
    }
    if (auto p = ParsePropagation(o)) {
      out.propagation |= *p;
      continue;
    }
    // Engine-level options that carry no kernel meaning here.
    if (o == "tmpcopyup" || o == "rro" || o == "defaults" || o == "z" || o == "Z") continue;
    if (o == "idmap" || o == "ridmap")
      return base::Fail(
          base::Error::InvalidArgument(fmt::format("mount option \"{}\" is not supported", o)));
    if (!out.data.empty()) out.data += ",";
    out.data += o;
  }
  return out;
}

}  // namespace berth::runtime::linux
