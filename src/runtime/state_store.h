// The runtime's state directory (--root): one directory per container holding state.json (what
// `state` prints plus what later commands need: init start time, cgroup paths, and the text of
// the config it was created with) and exec.fifo while the container is created but not started.
// One file, written once: on a disk-backed --root (this host's /run is ext4) each file created
// and removed per container costs ~0.3 ms of metadata work on the start and exit paths.
// Status is derived, never stored: fifo present + init alive = created; alive = running or
// paused (freezer); otherwise stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"

namespace berth::runtime {

struct ContainerRecord {
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339Nano
  std::string owner;
  pid_t pid = 0;
  uint64_t start_time = 0;  // of the init, from /proc/<pid>/stat, guards against pid reuse
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;  // subsystem -> host dir
  std::string cgroup_mode;                          // v1 hybrid v2
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const { return root_ + "/" + id; }
  std::string FifoPath(const std::string& id) const { return Dir(id) + "/exec.fifo"; }
  // Where state dirs made before the config moved into state.json kept it.
  std::string LegacyConfigPath(const std::string& id) const { return Dir(id) + "/config.json"; }

  // Makes the container's directory. AlreadyExists: "container with given ID already exists".
  base::Status CreateDir(const std::string& id);
  // Writes state.json (replacing it atomically) with the record and config_text, the exact
  // config.json text the container was created from: valid JSON, as it parsed (an object is
  // written as it is, anything else as a string).
  base::Status Save(const ContainerRecord& rec, std::string_view config_text);
  // NotFound: "container does not exist".
  base::Result<ContainerRecord> Load(const std::string& id) const;
  // The init's pid (berthd asks on every start). NotFound when the container has no state.
  base::Result<pid_t> LoadPid(const std::string& id) const;
  // The config the container was created with (from state.json, or an older state dir's
  // config.json).
  base::Result<oci::Spec> LoadConfig(const std::string& id) const;
  base::Status Remove(const std::string& id);
  base::Result<std::vector<std::string>> List() const;

 private:
  // state.json's text; NotFound for an invalid id or a container without state.
  base::Result<std::string> ReadState(const std::string& id) const;

  std::string root_;
};

// "created" | "running" | "paused" | "stopped", derived from the record and the live system.
std::string ContainerStatus(const StateStore& store, const ContainerRecord& rec);
oci::State ToOciState(const ContainerRecord& rec, const std::string& status);
// IDs are used as path components: reject "", ".", "..", '/', and runc's other refusals.
base::Status ValidateContainerId(const std::string& id);
// runc's default: /run/berth, or $XDG_RUNTIME_DIR/berth for non-root callers.
std::string DefaultStateRoot();

}  // namespace berth::runtime
