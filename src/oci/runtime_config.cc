// config.json, process.json, linux.resources and state JSON <-> the value types of
// runtime_config.h; spec-level validation; the defaults `spec` and `features` print.
#include "oci/runtime_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>

#include "base/strings.h"
#include "oci/capability_names.h"
#include "oci/json_fields.h"

namespace berth::oci {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;
using base::Error;
using base::Fail;
using base::Result;
using base::Status;

// ---------------------------------------------------------------------------------------------
// Reading

using internal::Element;
using internal::FieldError;
using internal::Member;
using internal::ParseObject;

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
constexpr const char* IntegerName() {
  if constexpr (std::is_same_v<T, uint16_t>) return "expected unsigned 16-bit integer";
  if constexpr (std::is_same_v<T, uint32_t>) return "expected unsigned 32-bit integer";
  if constexpr (std::is_same_v<T, uint64_t>) return "expected unsigned 64-bit integer";
  if constexpr (std::is_same_v<T, int32_t>) return "expected signed 32-bit integer";
  if constexpr (std::is_same_v<T, int64_t>) return "expected signed 64-bit integer";
  static_assert(std::is_same_v<T, uint16_t> || std::is_same_v<T, uint32_t> ||
                std::is_same_v<T, uint64_t> || std::is_same_v<T, int32_t> ||
                std::is_same_v<T, int64_t>);
}

// nlohmann stores non-negative literals as unsigned, negative ones as signed, and anything with
// a fraction, an exponent or beyond 64 bits as a double; doubles are rejected like Go does.
template <typename T>
bool ToInteger(const Json& j, T* out) {
  using Limits = std::numeric_limits<T>;
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(Limits::max())) return false;
    *out = static_cast<T>(v);
    return true;
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (v < static_cast<int64_t>(Limits::min()) || v > static_cast<int64_t>(Limits::max()))
        return false;
    } else {
      if (v < 0 || static_cast<uint64_t>(v) > static_cast<uint64_t>(Limits::max())) return false;
    }
    *out = static_cast<T>(v);
    return true;
  }
  return false;
}

// Structs: `j` is known to be an object. Declared before Decode so that Decode finds them.
Status DecodeStruct(const Json& j, const std::string& p, User* out);
Status DecodeStruct(const Json& j, const std::string& p, Capabilities* out);
Status DecodeStruct(const Json& j, const std::string& p, Rlimit* out);
Status DecodeStruct(const Json& j, const std::string& p, ConsoleSize* out);
Status DecodeStruct(const Json& j, const std::string& p, Process* out);
Status DecodeStruct(const Json& j, const std::string& p, Root* out);
Status DecodeStruct(const Json& j, const std::string& p, IdMapping* out);
Status DecodeStruct(const Json& j, const std::string& p, Mount* out);
Status DecodeStruct(const Json& j, const std::string& p, Hook* out);
Status DecodeStruct(const Json& j, const std::string& p, Hooks* out);
Status DecodeStruct(const Json& j, const std::string& p, Namespace* out);
Status DecodeStruct(const Json& j, const std::string& p, DeviceRule* out);
Status DecodeStruct(const Json& j, const std::string& p, MemoryResources* out);
Status DecodeStruct(const Json& j, const std::string& p, CpuResources* out);
Status DecodeStruct(const Json& j, const std::string& p, PidsResources* out);
Status DecodeStruct(const Json& j, const std::string& p, WeightDevice* out);
Status DecodeStruct(const Json& j, const std::string& p, ThrottleDevice* out);
Status DecodeStruct(const Json& j, const std::string& p, BlockIoResources* out);
Status DecodeStruct(const Json& j, const std::string& p, HugepageLimit* out);
Status DecodeStruct(const Json& j, const std::string& p, std::pair<std::string, uint32_t>* out);
Status DecodeStruct(const Json& j, const std::string& p, NetworkResources* out);
Status DecodeStruct(const Json& j, const std::string& p, Resources* out);
Status DecodeStruct(const Json& j, const std::string& p, Device* out);
Status DecodeStruct(const Json& j, const std::string& p, SeccompArg* out);
Status DecodeStruct(const Json& j, const std::string& p, SeccompSyscall* out);
Status DecodeStruct(const Json& j, const std::string& p, Seccomp* out);
Status DecodeStruct(const Json& j, const std::string& p, Linux* out);
Status DecodeStruct(const Json& j, const std::string& p, Spec* out);
Status DecodeStruct(const Json& j, const std::string& p, State* out);

// Scalars (and vectors of them) decoded without a path: a config holds ~500 such values (the
// seccomp profile's syscall names mostly), and formatting "linux.seccomp.syscalls[3].names[17]"
// for each, to name it in an error that almost never comes, was a sixth of a parse. False when
// the value is not what T needs; the caller then decodes again with paths, for the error.
template <typename T>
bool DecodeScalar(const Json& j, T* out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return false;
    *out = j.get_ref<const std::string&>();
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return false;
    *out = j.get<bool>();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    return ToInteger(j, out);
  } else if constexpr (IsVector<T>::value) {
    using E = typename T::value_type;
    if constexpr (std::is_same_v<E, std::string> || std::is_same_v<E, bool> ||
                  std::is_integral_v<E>) {
      if (!j.is_array()) return false;
      out->clear();
      out->reserve(j.size());
      for (const auto& e : j) {
        E v{};
        if (!DecodeScalar(e, &v)) return false;
        out->push_back(std::move(v));
      }
      return true;
    } else {
      return false;
    }
  } else {
    return false;
  }
}

template <typename T>
Status Decode(const Json& j, const std::string& path, T* out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return Fail(FieldError(path, "expected string"));
    *out = j.get_ref<const std::string&>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return Fail(FieldError(path, "expected boolean"));
    *out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!ToInteger(j, out)) return Fail(FieldError(path, IntegerName<T>()));
  } else if constexpr (IsOptional<T>::value) {
    typename T::value_type v{};
    TRY(Decode(j, path, &v));
    *out = std::move(v);
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) return Fail(FieldError(path, "expected array"));
    out->clear();
    out->reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      typename T::value_type v{};
      TRY(Decode(j[i], Element(path, i), &v));
      out->push_back(std::move(v));
    }
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    if (!j.is_object()) return Fail(FieldError(path, "expected object"));
    out->clear();
    for (const auto& [key, value] : j.items()) {
      if (!value.is_string())
        return Fail(FieldError(fmt::format("{}[\"{}\"]", path, key), "expected string"));
      (*out)[key] = value.template get<std::string>();
    }
  } else {
    if (!j.is_object()) return Fail(FieldError(path, "expected object"));
    TRY(DecodeStruct(j, path, out));
  }
  return {};
}

// Absent and null both leave the default (Go's encoding/json treats null the same way).
template <typename T>
Status Field(const Json& obj, const std::string& path, const char* key, T* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if constexpr (IsOptional<T>::value) {
    typename T::value_type v{};
    if (DecodeScalar(*it, &v)) {
      *out = std::move(v);
      return {};
    }
  } else {
    if (DecodeScalar(*it, out)) return {};
  }
  return Decode(*it, Member(path, key), out);
}

Status DecodeStruct(const Json& j, const std::string& p, User* out) {
  TRY(Field(j, p, "uid", &out->uid));
  TRY(Field(j, p, "gid", &out->gid));
  TRY(Field(j, p, "umask", &out->umask));
  TRY(Field(j, p, "additionalGids", &out->additional_gids));
  TRY(Field(j, p, "username", &out->username));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Capabilities* out) {
  TRY(Field(j, p, "bounding", &out->bounding));
  TRY(Field(j, p, "effective", &out->effective));
  TRY(Field(j, p, "inheritable", &out->inheritable));
  TRY(Field(j, p, "permitted", &out->permitted));
  TRY(Field(j, p, "ambient", &out->ambient));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Rlimit* out) {
  TRY(Field(j, p, "type", &out->type));
  TRY(Field(j, p, "hard", &out->hard));
  TRY(Field(j, p, "soft", &out->soft));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, ConsoleSize* out) {
  TRY(Field(j, p, "height", &out->height));
  TRY(Field(j, p, "width", &out->width));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Process* out) {
  TRY(Field(j, p, "terminal", &out->terminal));
  TRY(Field(j, p, "consoleSize", &out->console_size));
  TRY(Field(j, p, "user", &out->user));
  TRY(Field(j, p, "args", &out->args));
  TRY(Field(j, p, "env", &out->env));
  TRY(Field(j, p, "cwd", &out->cwd));
  TRY(Field(j, p, "capabilities", &out->capabilities));
  TRY(Field(j, p, "rlimits", &out->rlimits));
  TRY(Field(j, p, "noNewPrivileges", &out->no_new_privileges));
  TRY(Field(j, p, "apparmorProfile", &out->apparmor_profile));
  TRY(Field(j, p, "oomScoreAdj", &out->oom_score_adj));
  TRY(Field(j, p, "selinuxLabel", &out->selinux_label));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Root* out) {
  TRY(Field(j, p, "path", &out->path));
  TRY(Field(j, p, "readonly", &out->readonly));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, IdMapping* out) {
  TRY(Field(j, p, "containerID", &out->container_id));
  TRY(Field(j, p, "hostID", &out->host_id));
  TRY(Field(j, p, "size", &out->size));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Mount* out) {
  TRY(Field(j, p, "destination", &out->destination));
  TRY(Field(j, p, "type", &out->type));
  TRY(Field(j, p, "source", &out->source));
  TRY(Field(j, p, "options", &out->options));
  TRY(Field(j, p, "uidMappings", &out->uid_mappings));
  TRY(Field(j, p, "gidMappings", &out->gid_mappings));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Hook* out) {
  TRY(Field(j, p, "path", &out->path));
  TRY(Field(j, p, "args", &out->args));
  TRY(Field(j, p, "env", &out->env));
  TRY(Field(j, p, "timeout", &out->timeout));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Hooks* out) {
  TRY(Field(j, p, "prestart", &out->prestart));
  TRY(Field(j, p, "createRuntime", &out->create_runtime));
  TRY(Field(j, p, "createContainer", &out->create_container));
  TRY(Field(j, p, "startContainer", &out->start_container));
  TRY(Field(j, p, "poststart", &out->poststart));
  TRY(Field(j, p, "poststop", &out->poststop));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Namespace* out) {
  TRY(Field(j, p, "type", &out->type));
  TRY(Field(j, p, "path", &out->path));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, DeviceRule* out) {
  TRY(Field(j, p, "allow", &out->allow));
  TRY(Field(j, p, "type", &out->type));
  TRY(Field(j, p, "major", &out->major));
  TRY(Field(j, p, "minor", &out->minor));
  TRY(Field(j, p, "access", &out->access));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, MemoryResources* out) {
  TRY(Field(j, p, "limit", &out->limit));
  TRY(Field(j, p, "reservation", &out->reservation));
  TRY(Field(j, p, "swap", &out->swap));
  TRY(Field(j, p, "kernel", &out->kernel));
  TRY(Field(j, p, "kernelTCP", &out->kernel_tcp));
  TRY(Field(j, p, "swappiness", &out->swappiness));
  TRY(Field(j, p, "disableOOMKiller", &out->disable_oom_killer));
  TRY(Field(j, p, "useHierarchy", &out->use_hierarchy));
  TRY(Field(j, p, "checkBeforeUpdate", &out->check_before_update));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, CpuResources* out) {
  TRY(Field(j, p, "shares", &out->shares));
  TRY(Field(j, p, "quota", &out->quota));
  // The spec types burst as uint64; CpuResources holds it in an int64.
  std::optional<uint64_t> burst;
  TRY(Field(j, p, "burst", &burst));
  if (burst) {
    if (*burst > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Fail(FieldError(Member(p, "burst"), "out of range"));
    out->burst = static_cast<int64_t>(*burst);
  }
  TRY(Field(j, p, "period", &out->period));
  TRY(Field(j, p, "realtimeRuntime", &out->realtime_runtime));
  TRY(Field(j, p, "realtimePeriod", &out->realtime_period));
  TRY(Field(j, p, "cpus", &out->cpus));
  TRY(Field(j, p, "mems", &out->mems));
  TRY(Field(j, p, "idle", &out->idle));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, PidsResources* out) {
  TRY(Field(j, p, "limit", &out->limit));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, WeightDevice* out) {
  TRY(Field(j, p, "major", &out->major));
  TRY(Field(j, p, "minor", &out->minor));
  TRY(Field(j, p, "weight", &out->weight));
  TRY(Field(j, p, "leafWeight", &out->leaf_weight));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, ThrottleDevice* out) {
  TRY(Field(j, p, "major", &out->major));
  TRY(Field(j, p, "minor", &out->minor));
  TRY(Field(j, p, "rate", &out->rate));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, BlockIoResources* out) {
  TRY(Field(j, p, "weight", &out->weight));
  TRY(Field(j, p, "leafWeight", &out->leaf_weight));
  TRY(Field(j, p, "weightDevice", &out->weight_device));
  TRY(Field(j, p, "throttleReadBpsDevice", &out->throttle_read_bps_device));
  TRY(Field(j, p, "throttleWriteBpsDevice", &out->throttle_write_bps_device));
  TRY(Field(j, p, "throttleReadIOPSDevice", &out->throttle_read_iops_device));
  TRY(Field(j, p, "throttleWriteIOPSDevice", &out->throttle_write_iops_device));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, HugepageLimit* out) {
  TRY(Field(j, p, "pageSize", &out->page_size));
  TRY(Field(j, p, "limit", &out->limit));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, std::pair<std::string, uint32_t>* out) {
  TRY(Field(j, p, "name", &out->first));
  TRY(Field(j, p, "priority", &out->second));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, NetworkResources* out) {
  TRY(Field(j, p, "classID", &out->class_id));
  TRY(Field(j, p, "priorities", &out->priorities));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Resources* out) {
  TRY(Field(j, p, "devices", &out->devices));
  TRY(Field(j, p, "memory", &out->memory));
  TRY(Field(j, p, "cpu", &out->cpu));
  TRY(Field(j, p, "pids", &out->pids));
  TRY(Field(j, p, "blockIO", &out->block_io));
  TRY(Field(j, p, "hugepageLimits", &out->hugepage_limits));
  TRY(Field(j, p, "network", &out->network));
  TRY(Field(j, p, "unified", &out->unified));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Device* out) {
  TRY(Field(j, p, "path", &out->path));
  TRY(Field(j, p, "type", &out->type));
  TRY(Field(j, p, "major", &out->major));
  TRY(Field(j, p, "minor", &out->minor));
  TRY(Field(j, p, "fileMode", &out->file_mode));
  TRY(Field(j, p, "uid", &out->uid));
  TRY(Field(j, p, "gid", &out->gid));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, SeccompArg* out) {
  TRY(Field(j, p, "index", &out->index));
  TRY(Field(j, p, "value", &out->value));
  TRY(Field(j, p, "valueTwo", &out->value_two));
  TRY(Field(j, p, "op", &out->op));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, SeccompSyscall* out) {
  TRY(Field(j, p, "names", &out->names));
  TRY(Field(j, p, "action", &out->action));
  TRY(Field(j, p, "errnoRet", &out->errno_ret));
  TRY(Field(j, p, "args", &out->args));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Seccomp* out) {
  TRY(Field(j, p, "defaultAction", &out->default_action));
  TRY(Field(j, p, "defaultErrnoRet", &out->default_errno_ret));
  TRY(Field(j, p, "architectures", &out->architectures));
  TRY(Field(j, p, "flags", &out->flags));
  TRY(Field(j, p, "listenerPath", &out->listener_path));
  TRY(Field(j, p, "listenerMetadata", &out->listener_metadata));
  TRY(Field(j, p, "syscalls", &out->syscalls));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Linux* out) {
  TRY(Field(j, p, "uidMappings", &out->uid_mappings));
  TRY(Field(j, p, "gidMappings", &out->gid_mappings));
  TRY(Field(j, p, "sysctl", &out->sysctl));
  TRY(Field(j, p, "resources", &out->resources));
  TRY(Field(j, p, "cgroupsPath", &out->cgroups_path));
  TRY(Field(j, p, "namespaces", &out->namespaces));
  TRY(Field(j, p, "devices", &out->devices));
  TRY(Field(j, p, "seccomp", &out->seccomp));
  TRY(Field(j, p, "rootfsPropagation", &out->rootfs_propagation));
  TRY(Field(j, p, "maskedPaths", &out->masked_paths));
  TRY(Field(j, p, "readonlyPaths", &out->readonly_paths));
  TRY(Field(j, p, "mountLabel", &out->mount_label));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, Spec* out) {
  TRY(Field(j, p, "ociVersion", &out->oci_version));
  TRY(Field(j, p, "process", &out->process));
  TRY(Field(j, p, "root", &out->root));
  TRY(Field(j, p, "hostname", &out->hostname));
  TRY(Field(j, p, "domainname", &out->domainname));
  TRY(Field(j, p, "mounts", &out->mounts));
  TRY(Field(j, p, "hooks", &out->hooks));
  TRY(Field(j, p, "annotations", &out->annotations));
  TRY(Field(j, p, "linux", &out->linux));
  return {};
}

Status DecodeStruct(const Json& j, const std::string& p, State* out) {
  TRY(Field(j, p, "ociVersion", &out->oci_version));
  TRY(Field(j, p, "id", &out->id));
  TRY(Field(j, p, "pid", &out->pid));
  TRY(Field(j, p, "status", &out->status));
  TRY(Field(j, p, "bundle", &out->bundle));
  TRY(Field(j, p, "rootfs", &out->rootfs));
  TRY(Field(j, p, "created", &out->created));
  TRY(Field(j, p, "owner", &out->owner));
  TRY(Field(j, p, "annotations", &out->annotations));
  return {};
}

template <typename T>
Result<T> ParseDocument(std::string_view text, std::string_view what) {
  Json j = TRY(ParseObject(text, what));
  T out{};
  TRY(DecodeStruct(j, "", &out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing. Key order follows the runtime-spec Go types (what runc writes); Go's omitempty
// becomes "skip when empty", fields without omitempty are always written.

// SerializeSpec's seccomp memo (below): while set, EncodeStruct(Linux) writes this string as
// linux.seccomp instead of the profile, and the profile's memoized text replaces it in the dump.
// A control character, which no spec the daemon generates contains (dumped as \u0001).
constexpr const char* kSeccompPlaceholder =
    "\x01"
    "berth:seccomp"
    "\x01";
thread_local bool tl_seccomp_placeholder = false;

OJson EncodeStruct(const User& v);
OJson EncodeStruct(const Capabilities& v);
OJson EncodeStruct(const Rlimit& v);
OJson EncodeStruct(const ConsoleSize& v);
OJson EncodeStruct(const Process& v);
OJson EncodeStruct(const Root& v);
OJson EncodeStruct(const IdMapping& v);
OJson EncodeStruct(const Mount& v);
OJson EncodeStruct(const Hook& v);
OJson EncodeStruct(const Hooks& v);
OJson EncodeStruct(const Namespace& v);
OJson EncodeStruct(const DeviceRule& v);
OJson EncodeStruct(const MemoryResources& v);
OJson EncodeStruct(const CpuResources& v);
OJson EncodeStruct(const PidsResources& v);
OJson EncodeStruct(const WeightDevice& v);
OJson EncodeStruct(const ThrottleDevice& v);
OJson EncodeStruct(const BlockIoResources& v);
OJson EncodeStruct(const HugepageLimit& v);
OJson EncodeStruct(const std::pair<std::string, uint32_t>& v);
OJson EncodeStruct(const NetworkResources& v);
OJson EncodeStruct(const Resources& v);
OJson EncodeStruct(const Device& v);
OJson EncodeStruct(const SeccompArg& v);
OJson EncodeStruct(const SeccompSyscall& v);
OJson EncodeStruct(const Seccomp& v);
OJson EncodeStruct(const Linux& v);
OJson EncodeStruct(const Spec& v);

template <typename T>
OJson Encode(const T& v) {
  if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T> ||
                std::is_same_v<T, std::map<std::string, std::string>>) {
    return OJson(v);
  } else if constexpr (IsVector<T>::value) {
    OJson a = OJson::array();
    for (const auto& e : v) a.push_back(Encode(e));
    return a;
  } else {
    return EncodeStruct(v);
  }
}

// Always written.
template <typename T>
void Put(OJson& o, const char* key, const T& v) {
  o[key] = Encode(v);
}

// Skipped when empty (strings, vectors, maps), unset (optionals) or false (bools).
template <typename T>
void PutIf(OJson& o, const char* key, const T& v) {
  if constexpr (IsOptional<T>::value) {
    if (v) o[key] = Encode(*v);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v) o[key] = true;
  } else {
    if (!v.empty()) o[key] = Encode(v);
  }
}

OJson EncodeStruct(const User& v) {
  OJson o = OJson::object();
  Put(o, "uid", v.uid);
  Put(o, "gid", v.gid);
  PutIf(o, "umask", v.umask);
  PutIf(o, "additionalGids", v.additional_gids);
  PutIf(o, "username", v.username);
  return o;
}

OJson EncodeStruct(const Capabilities& v) {
  OJson o = OJson::object();
  PutIf(o, "bounding", v.bounding);
  PutIf(o, "effective", v.effective);
  PutIf(o, "inheritable", v.inheritable);
  PutIf(o, "permitted", v.permitted);
  PutIf(o, "ambient", v.ambient);
  return o;
}

OJson EncodeStruct(const Rlimit& v) {
  OJson o = OJson::object();
  Put(o, "type", v.type);
  Put(o, "hard", v.hard);
  Put(o, "soft", v.soft);
  return o;
}

OJson EncodeStruct(const ConsoleSize& v) {
  OJson o = OJson::object();
  Put(o, "height", v.height);
  Put(o, "width", v.width);
  return o;
}

OJson EncodeStruct(const Process& v) {
  OJson o = OJson::object();
  PutIf(o, "terminal", v.terminal);
  PutIf(o, "consoleSize", v.console_size);
  Put(o, "user", v.user);
  PutIf(o, "args", v.args);
  PutIf(o, "env", v.env);
  Put(o, "cwd", v.cwd);
  PutIf(o, "capabilities", v.capabilities);
  PutIf(o, "rlimits", v.rlimits);
  PutIf(o, "noNewPrivileges", v.no_new_privileges);
  PutIf(o, "apparmorProfile", v.apparmor_profile);
  PutIf(o, "oomScoreAdj", v.oom_score_adj);
  PutIf(o, "selinuxLabel", v.selinux_label);
  return o;
}

OJson EncodeStruct(const Root& v) {
  OJson o = OJson::object();
  Put(o, "path", v.path);
  PutIf(o, "readonly", v.readonly);
  return o;
}

OJson EncodeStruct(const IdMapping& v) {
  OJson o = OJson::object();
  Put(o, "containerID", v.container_id);
  Put(o, "hostID", v.host_id);
  Put(o, "size", v.size);
  return o;
}

OJson EncodeStruct(const Mount& v) {
  OJson o = OJson::object();
  Put(o, "destination", v.destination);
  PutIf(o, "type", v.type);
  PutIf(o, "source", v.source);
  PutIf(o, "options", v.options);
  PutIf(o, "uidMappings", v.uid_mappings);
  PutIf(o, "gidMappings", v.gid_mappings);
  return o;
}

OJson EncodeStruct(const Hook& v) {
  OJson o = OJson::object();
  Put(o, "path", v.path);
  PutIf(o, "args", v.args);
  PutIf(o, "env", v.env);
  PutIf(o, "timeout", v.timeout);
  return o;
}

OJson EncodeStruct(const Hooks& v) {
  OJson o = OJson::object();
  PutIf(o, "prestart", v.prestart);
  PutIf(o, "createRuntime", v.create_runtime);
  PutIf(o, "createContainer", v.create_container);
  PutIf(o, "startContainer", v.start_container);
  PutIf(o, "poststart", v.poststart);
  PutIf(o, "poststop", v.poststop);
  return o;
}

OJson EncodeStruct(const Namespace& v) {
  OJson o = OJson::object();
  Put(o, "type", v.type);
  PutIf(o, "path", v.path);
  return o;
}

OJson EncodeStruct(const DeviceRule& v) {
  OJson o = OJson::object();
  Put(o, "allow", v.allow);
  PutIf(o, "type", v.type);
  PutIf(o, "major", v.major);
  PutIf(o, "minor", v.minor);
  PutIf(o, "access", v.access);
  return o;
}

OJson EncodeStruct(const MemoryResources& v) {
  OJson o = OJson::object();
  PutIf(o, "limit", v.limit);
  PutIf(o, "reservation", v.reservation);
  PutIf(o, "swap", v.swap);
  PutIf(o, "kernel", v.kernel);
  PutIf(o, "kernelTCP", v.kernel_tcp);
  PutIf(o, "swappiness", v.swappiness);
  PutIf(o, "disableOOMKiller", v.disable_oom_killer);
  PutIf(o, "useHierarchy", v.use_hierarchy);
  PutIf(o, "checkBeforeUpdate", v.check_before_update);
  return o;
}

OJson EncodeStruct(const CpuResources& v) {
  OJson o = OJson::object();
  PutIf(o, "shares", v.shares);
  PutIf(o, "quota", v.quota);
  PutIf(o, "burst", v.burst);
  PutIf(o, "period", v.period);
  PutIf(o, "realtimeRuntime", v.realtime_runtime);
  PutIf(o, "realtimePeriod", v.realtime_period);
  PutIf(o, "cpus", v.cpus);
  PutIf(o, "mems", v.mems);
  PutIf(o, "idle", v.idle);
  return o;
}

OJson EncodeStruct(const PidsResources& v) {
  OJson o = OJson::object();
  Put(o, "limit", v.limit);
  return o;
}

OJson EncodeStruct(const WeightDevice& v) {
  OJson o = OJson::object();
  Put(o, "major", v.major);
  Put(o, "minor", v.minor);
  PutIf(o, "weight", v.weight);
  PutIf(o, "leafWeight", v.leaf_weight);
  return o;
}

OJson EncodeStruct(const ThrottleDevice& v) {
  OJson o = OJson::object();
  Put(o, "major", v.major);
  Put(o, "minor", v.minor);
  Put(o, "rate", v.rate);
  return o;
}

OJson EncodeStruct(const BlockIoResources& v) {
  OJson o = OJson::object();
  PutIf(o, "weight", v.weight);
  PutIf(o, "leafWeight", v.leaf_weight);
  PutIf(o, "weightDevice", v.weight_device);
  PutIf(o, "throttleReadBpsDevice", v.throttle_read_bps_device);
  PutIf(o, "throttleWriteBpsDevice", v.throttle_write_bps_device);
  PutIf(o, "throttleReadIOPSDevice", v.throttle_read_iops_device);
  PutIf(o, "throttleWriteIOPSDevice", v.throttle_write_iops_device);
  return o;
}

OJson EncodeStruct(const HugepageLimit& v) {
  OJson o = OJson::object();
  Put(o, "pageSize", v.page_size);
  Put(o, "limit", v.limit);
  return o;
}

OJson EncodeStruct(const std::pair<std::string, uint32_t>& v) {
  OJson o = OJson::object();
  Put(o, "name", v.first);
  Put(o, "priority", v.second);
  return o;
}

OJson EncodeStruct(const NetworkResources& v) {
  OJson o = OJson::object();
  PutIf(o, "classID", v.class_id);
  PutIf(o, "priorities", v.priorities);
  return o;
}

OJson EncodeStruct(const Resources& v) {
  OJson o = OJson::object();
  PutIf(o, "devices", v.devices);
  PutIf(o, "memory", v.memory);
  PutIf(o, "cpu", v.cpu);
  PutIf(o, "pids", v.pids);
  PutIf(o, "blockIO", v.block_io);
  PutIf(o, "hugepageLimits", v.hugepage_limits);
  PutIf(o, "network", v.network);
  PutIf(o, "unified", v.unified);
  return o;
}

OJson EncodeStruct(const Device& v) {
  OJson o = OJson::object();
  Put(o, "path", v.path);
  Put(o, "type", v.type);
  Put(o, "major", v.major);
  Put(o, "minor", v.minor);
  PutIf(o, "fileMode", v.file_mode);
  PutIf(o, "uid", v.uid);
  PutIf(o, "gid", v.gid);
  return o;
}

OJson EncodeStruct(const SeccompArg& v) {
  OJson o = OJson::object();
  Put(o, "index", v.index);
  Put(o, "value", v.value);
  if (v.value_two != 0) Put(o, "valueTwo", v.value_two);
  Put(o, "op", v.op);
  return o;
}

OJson EncodeStruct(const SeccompSyscall& v) {
  OJson o = OJson::object();
  Put(o, "names", v.names);
  Put(o, "action", v.action);
  PutIf(o, "errnoRet", v.errno_ret);
  PutIf(o, "args", v.args);
  return o;
}

OJson EncodeStruct(const Seccomp& v) {
  OJson o = OJson::object();
  Put(o, "defaultAction", v.default_action);
  PutIf(o, "defaultErrnoRet", v.default_errno_ret);
  PutIf(o, "architectures", v.architectures);
  PutIf(o, "flags", v.flags);
  PutIf(o, "listenerPath", v.listener_path);
  PutIf(o, "listenerMetadata", v.listener_metadata);
  PutIf(o, "syscalls", v.syscalls);
  return o;
}

OJson EncodeStruct(const Linux& v) {
  OJson o = OJson::object();
  PutIf(o, "uidMappings", v.uid_mappings);
  PutIf(o, "gidMappings", v.gid_mappings);
  PutIf(o, "sysctl", v.sysctl);
  PutIf(o, "resources", v.resources);
  PutIf(o, "cgroupsPath", v.cgroups_path);
  PutIf(o, "namespaces", v.namespaces);
  PutIf(o, "devices", v.devices);
  if (v.seccomp && tl_seccomp_placeholder)
    o["seccomp"] = kSeccompPlaceholder;
  else
    PutIf(o, "seccomp", v.seccomp);
  PutIf(o, "rootfsPropagation", v.rootfs_propagation);
  PutIf(o, "maskedPaths", v.masked_paths);
  PutIf(o, "readonlyPaths", v.readonly_paths);
  PutIf(o, "mountLabel", v.mount_label);
  return o;
}

OJson EncodeStruct(const Spec& v) {
  OJson o = OJson::object();
  Put(o, "ociVersion", v.oci_version);
  PutIf(o, "process", v.process);
  Put(o, "root", v.root);
  PutIf(o, "hostname", v.hostname);
  PutIf(o, "domainname", v.domainname);
  PutIf(o, "mounts", v.mounts);
  PutIf(o, "hooks", v.hooks);
  PutIf(o, "annotations", v.annotations);
  PutIf(o, "linux", v.linux);
  return o;
}

// Invalid UTF-8 would make dump() throw; only values built in code can contain it (the parser
// rejects it), and those get U+FFFD.
std::string Dump(const OJson& j, int indent, char indent_char) {
  return j.dump(indent, indent_char, /*ensure_ascii=*/false, OJson::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------
// Tables shared by validation and features.

constexpr std::string_view kNamespaceTypes[] = {"cgroup", "ipc",  "mount", "network",
                                                "pid",    "time", "user",  "uts"};

constexpr std::string_view kRlimitTypes[] = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

constexpr std::string_view kSeccompActions[] = {
    "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP"};

constexpr std::string_view kSeccompOperators[] = {
    "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};

// What libseccomp 2.5 (the version we build against) resolves.
constexpr std::string_view kSeccompArchs[] = {
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",       "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64"};

// Later libseccomp releases know more; a config naming them is valid, the runtime refuses it.
constexpr std::string_view kSeccompArchsNewer[] = {"SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
                                                   "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"};

constexpr std::string_view kSeccompKnownFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

// WAIT_KILLABLE_RECV needs libseccomp >= 2.6.
constexpr std::string_view kSeccompSupportedFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

constexpr std::string_view kPropagations[] = {"private", "rprivate", "shared",     "rshared",
                                              "slave",   "rslave",   "unbindable", "runbindable"};

template <size_t N>
bool Contains(const std::string_view (&table)[N], std::string_view s) {
  return std::find(std::begin(table), std::end(table), s) != std::end(table);
}

template <size_t N>
std::vector<std::string> ToVector(const std::string_view (&table)[N]) {
  return {std::begin(table), std::end(table)};
}

// ---------------------------------------------------------------------------------------------
// Validation

bool IsAbsolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

Status Invalid(std::string_view path, std::string_view what) {
  return Fail(FieldError(path, what));
}

Status ValidateProcess(const Process& process) {
  if (!IsAbsolute(process.cwd)) return Invalid("process.cwd", "must be an absolute path");
  std::set<std::string_view> seen;
  for (size_t i = 0; i < process.rlimits.size(); ++i) {
    const Rlimit& r = process.rlimits[i];
    std::string p = Element("process.rlimits", i);
    if (!Contains(kRlimitTypes, r.type))
      return Invalid(Member(p, "type"), fmt::format("unknown rlimit type \"{}\"", r.type));
    if (!seen.insert(r.type).second)
      return Invalid("process.rlimits", fmt::format("duplicate rlimit \"{}\"", r.type));
    if (r.soft > r.hard)
      return Invalid(Member(p, "soft"),
                     fmt::format("soft limit {} exceeds hard limit {}", r.soft, r.hard));
  }
  return {};
}

Status ValidateHooks(const Hooks& hooks) {
  const std::pair<const char*, const std::vector<Hook>*> lists[] = {
      {"prestart", &hooks.prestart},
      {"createRuntime", &hooks.create_runtime},
      {"createContainer", &hooks.create_container},
      {"startContainer", &hooks.start_container},
      {"poststart", &hooks.poststart},
      {"poststop", &hooks.poststop}};
  for (const auto& [name, list] : lists) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Hook& h = (*list)[i];
      std::string p = Element(fmt::format("hooks.{}", name), i);
      if (!IsAbsolute(h.path)) return Invalid(Member(p, "path"), "must be an absolute path");
      if (h.timeout && *h.timeout <= 0)
        return Invalid(Member(p, "timeout"), "must be greater than zero");
    }
  }
  return {};
}

bool TakesErrno(const std::string& action) {
  return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

Status ValidateSeccomp(const Seccomp& s) {
  const std::string p = "linux.seccomp";
  if (s.default_action.empty()) return Invalid(Member(p, "defaultAction"), "must be set");
  if (!Contains(kSeccompActions, s.default_action))
    return Invalid(Member(p, "defaultAction"),
                   fmt::format("unknown action \"{}\"", s.default_action));
  // The notifying filter is installed by the runtime itself, which must go on making syscalls.
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return Invalid(Member(p, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action");
  if (s.default_errno_ret && !TakesErrno(s.default_action))
    return Invalid(Member(p, "defaultErrnoRet"),
                   fmt::format("not supported with action {}", s.default_action));
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    if (!Contains(kSeccompArchs, s.architectures[i]) &&
        !Contains(kSeccompArchsNewer, s.architectures[i]))
      return Invalid(Element(Member(p, "architectures"), i),
                     fmt::format("unknown architecture \"{}\"", s.architectures[i]));
  }
  for (size_t i = 0; i < s.flags.size(); ++i) {
    if (!Contains(kSeccompKnownFlags, s.flags[i]))
      return Invalid(Element(Member(p, "flags"), i),
                     fmt::format("unknown flag \"{}\"", s.flags[i]));
  }
  if (!s.listener_metadata.empty() && s.listener_path.empty())
    return Invalid(Member(p, "listenerMetadata"), "requires listenerPath");
  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const SeccompSyscall& sc = s.syscalls[i];
    std::string sp = Element(Member(p, "syscalls"), i);
    if (sc.names.empty()) return Invalid(Member(sp, "names"), "must not be empty");
    for (size_t k = 0; k < sc.names.size(); ++k) {
      if (sc.names[k].empty()) return Invalid(Element(Member(sp, "names"), k), "must not be empty");
    }
    if (!Contains(kSeccompActions, sc.action))
      return Invalid(Member(sp, "action"), fmt::format("unknown action \"{}\"", sc.action));
    notify |= sc.action == "SCMP_ACT_NOTIFY";
    if (sc.errno_ret && !TakesErrno(sc.action))
      return Invalid(Member(sp, "errnoRet"),
                     fmt::format("not supported with action {}", sc.action));
    for (size_t k = 0; k < sc.args.size(); ++k) {
      const SeccompArg& a = sc.args[k];
      std::string ap = Element(Member(sp, "args"), k);
      // Syscalls take at most six arguments.
      if (a.index > 5) return Invalid(Member(ap, "index"), "must be between 0 and 5");
      if (!Contains(kSeccompOperators, a.op))
        return Invalid(Member(ap, "op"), fmt::format("unknown operator \"{}\"", a.op));
    }
  }
  if (notify && s.listener_path.empty())
    return Invalid(Member(p, "listenerPath"), "required when SCMP_ACT_NOTIFY is used");
  return {};
}

Status ValidateIdMappings(const std::vector<IdMapping>& maps, const std::string& path) {
  for (size_t i = 0; i < maps.size(); ++i) {
    if (maps[i].size == 0) return Invalid(Member(Element(path, i), "size"), "must not be zero");
  }
  return {};
}

Status ValidateLinux(const Linux& l) {
  std::set<std::string_view> seen;
  bool user_ns = false;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const Namespace& ns = l.namespaces[i];
    std::string p = Element("linux.namespaces", i);
    if (!Contains(kNamespaceTypes, ns.type))
      return Invalid(Member(p, "type"), fmt::format("unknown namespace type \"{}\"", ns.type));
    if (!seen.insert(ns.type).second)
      return Invalid("linux.namespaces", fmt::format("duplicate namespace \"{}\"", ns.type));
    if (!ns.path.empty() && !IsAbsolute(ns.path))
      return Invalid(Member(p, "path"), "must be an absolute path");
    user_ns |= ns.type == "user";
  }
  if (!l.uid_mappings.empty() && !user_ns)
    return Invalid("linux.uidMappings", "requires a user namespace");
  if (!l.gid_mappings.empty() && !user_ns)
    return Invalid("linux.gidMappings", "requires a user namespace");
  TRY(ValidateIdMappings(l.uid_mappings, "linux.uidMappings"));
  TRY(ValidateIdMappings(l.gid_mappings, "linux.gidMappings"));

  for (const auto& [key, value] : l.sysctl) {
    if (key.empty()) return Invalid("linux.sysctl", "empty key");
  }

  for (size_t i = 0; i < l.devices.size(); ++i) {
    const Device& d = l.devices[i];
    std::string p = Element("linux.devices", i);
    if (!IsAbsolute(d.path)) return Invalid(Member(p, "path"), "must be an absolute path");
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      return Invalid(Member(p, "type"), fmt::format("unknown device type \"{}\"", d.type));
  }

  if (l.resources) {
    for (size_t i = 0; i < l.resources->devices.size(); ++i) {
      const DeviceRule& r = l.resources->devices[i];
      std::string p = Element("linux.resources.devices", i);
      if (!r.type.empty() && r.type != "a" && r.type != "c" && r.type != "b")
        return Invalid(Member(p, "type"), fmt::format("unknown device type \"{}\"", r.type));
      if (r.access.find_first_not_of("rwm") != std::string::npos)
        return Invalid(Member(p, "access"),
                       fmt::format("\"{}\" is not a subset of \"rwm\"", r.access));
    }
  }

  if (l.seccomp) TRY(ValidateSeccomp(*l.seccomp));

  if (!l.rootfs_propagation.empty() && !Contains(kPropagations, l.rootfs_propagation))
    return Invalid("linux.rootfsPropagation",
                   fmt::format("unknown propagation \"{}\"", l.rootfs_propagation));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Defaults

Mount MakeMount(std::string destination, std::string type, std::string source,
                std::vector<std::string> options) {
  Mount m;
  m.destination = std::move(destination);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

}  // namespace

base::Result<Spec> ParseSpec(std::string_view json_text) {
  return ParseDocument<Spec>(json_text, "config");
}

base::Result<Spec> DecodeSpec(const Json& config) {
  if (!config.is_object()) return Fail(Error::InvalidArgument("config: expected object"));
  Spec out{};
  TRY(DecodeStruct(config, "", &out));
  return out;
}

base::Result<Process> ParseProcess(std::string_view json_text) {
  return ParseDocument<Process>(json_text, "process");
}

base::Result<Resources> ParseResources(std::string_view json_text) {
  return ParseDocument<Resources>(json_text, "resources");
}

base::Result<State> ParseState(std::string_view json_text) {
  return ParseDocument<State>(json_text, "state");
}

base::Status ValidateSpec(const Spec& spec) {
  if (spec.oci_version.empty()) return Invalid("ociVersion", "must be set");
  if (spec.root.path.empty()) return Invalid("root.path", "must be set");
  if (spec.process) TRY(ValidateProcess(*spec.process));
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& m = spec.mounts[i];
    std::string p = Element("mounts", i);
    if (!IsAbsolute(m.destination))
      return Invalid(Member(p, "destination"), "must be an absolute path");
    TRY(ValidateIdMappings(m.uid_mappings, Member(p, "uidMappings")));
    TRY(ValidateIdMappings(m.gid_mappings, Member(p, "gidMappings")));
  }
  if (spec.hooks) TRY(ValidateHooks(*spec.hooks));
  if (spec.linux) TRY(ValidateLinux(*spec.linux));
  return {};
}

namespace {

// The text of the last seccomp profile SerializeSpec wrote, indented as linux.seccomp's value.
// Every container of a daemon usually has the same profile (Docker's default: ~400 of a spec's
// ~600 JSON values), and building its JSON tree was most of the ~0.3 ms a spec took to write,
// on the way to a container's start.
struct SeccompMemo {
  std::mutex mu;
  std::optional<Seccomp> profile;
  std::string text;
};

SeccompMemo& Memo() {
  static SeccompMemo memo;
  return memo;
}

std::string SeccompText(const Seccomp& profile) {
  SeccompMemo& memo = Memo();
  {
    std::lock_guard lock(memo.mu);
    if (memo.profile && *memo.profile == profile) return memo.text;
  }
  // Dumped alone, then indented two levels deeper (the spec and linux objects): the pretty
  // printer starts every line but the first with the indentation, and JSON strings hold no
  // raw newline.
  std::string alone = Dump(EncodeStruct(profile), 1, '\t');
  std::string text;
  text.reserve(alone.size() + alone.size() / 16);
  for (char c : alone) {
    text += c;
    if (c == '\n') text += "\t\t";
  }
  std::lock_guard lock(memo.mu);
  memo.profile = profile;
  memo.text = text;
  return text;
}

}  // namespace

std::string SerializeSpec(const Spec& spec) {
  if (!spec.linux || !spec.linux->seccomp) return Dump(EncodeStruct(spec), 1, '\t');
  std::string seccomp = SeccompText(*spec.linux->seccomp);
  tl_seccomp_placeholder = true;
  OJson j;
  try {
    j = EncodeStruct(spec);
  } catch (...) {
    tl_seccomp_placeholder = false;
    throw;
  }
  tl_seccomp_placeholder = false;
  std::string out = Dump(j, 1, '\t');
  // linux is the last member of the spec, and its seccomp a member two levels deep: the last
  // such line (an annotation could be an earlier one).
  static const std::string kLine =
      fmt::format("\n\t\t\"seccomp\": {}", OJson(kSeccompPlaceholder).dump());
  size_t at = out.rfind(kLine);
  if (at == std::string::npos) return Dump(EncodeStruct(spec), 1, '\t');  // not expected
  size_t value = at + kLine.size() - OJson(kSeccompPlaceholder).dump().size();
  out.replace(value, kLine.size() - (value - at), seccomp);
  return out;
}

std::string SeccompValueText(const Seccomp& profile) { return SeccompText(profile); }

base::Result<KnownSeccomp> ParseKnownSeccomp(std::string text) {
  Json j = TRY(ParseObject(text, "linux.seccomp"));
  KnownSeccomp out;
  TRY(DecodeStruct(j, "linux.seccomp", &out.profile));
  out.text = std::move(text);
  return out;
}

base::Result<Spec> ParseSpecWith(std::string_view json_text, const KnownSeccomp* known) {
  // SerializeSpec's layout: tab indentation, one member per line, so a member of a top-level
  // object is a line of two tabs and a top-level member one of a single tab (JSON strings hold
  // no raw newline). The last linux.seccomp line wins, as in a parse of the whole text.
  static constexpr std::string_view kLine = "\n\t\t\"seccomp\": ";
  static constexpr std::string_view kLinux = "\n\t\"linux\": {";
  if (!known || known->text.empty()) return ParseSpec(json_text);
  size_t at = json_text.rfind(kLine);
  if (at == std::string_view::npos) return ParseSpec(json_text);
  size_t value = at + kLine.size();
  size_t end = value + known->text.size();
  if (end >= json_text.size() || json_text.compare(value, known->text.size(), known->text) != 0 ||
      (json_text[end] != ',' && json_text[end] != '\n'))
    return ParseSpec(json_text);
  // The line's object is the nearest top-level member above it: the last "linux" (a later
  // duplicate would win).
  size_t parent = json_text.rfind("\n\t\"", at);
  if (parent == std::string_view::npos || json_text.compare(parent, kLinux.size(), kLinux) != 0 ||
      json_text.find("\n\t\"linux\"", at) != std::string_view::npos)
    return ParseSpec(json_text);
  std::string spliced;
  spliced.reserve(json_text.size() - known->text.size() + 4);
  spliced.append(json_text.substr(0, value));
  spliced.append("null");
  spliced.append(json_text.substr(end));
  auto spec = ParseSpec(spliced);
  // Otherwise the text as it is: its errors then read as they would.
  if (!spec || !spec->linux || spec->linux->seccomp) return ParseSpec(json_text);
  spec->linux->seccomp = known->profile;
  return spec;
}

std::string SerializeResources(const Resources& r) { return Dump(EncodeStruct(r), 1, '\t'); }

Spec DefaultSpec(bool rootless) {
  Spec s;
  s.oci_version = kOciVersion;

  Process& p = s.process.emplace();
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{
      .bounding = caps, .effective = caps, .inheritable = {}, .permitted = caps, .ambient = caps};
  p.rlimits = {Rlimit{.type = "RLIMIT_NOFILE", .hard = 1024, .soft = 1024}};
  p.no_new_privileges = true;

  s.root = Root{.path = "rootfs", .readonly = true};
  s.hostname = "berth";

  s.mounts = {
      MakeMount("/proc", "proc", "proc", {}),
      MakeMount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      MakeMount("/dev/pts", "devpts", "devpts",
                {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      MakeMount("/dev/shm", "tmpfs", "shm",
                {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      MakeMount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      MakeMount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      MakeMount("/sys/fs/cgroup", "cgroup", "cgroup",
                {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };

  Linux& l = s.linux.emplace();
  DeviceRule deny_all;
  deny_all.access = "rwm";
  l.resources.emplace().devices = {deny_all};
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

  if (rootless) {
    // As runc's ToRootless: no netns (sysfs cannot be mounted without one, so /sys is bound),
    // a user namespace mapping root to the caller, no gid= on devpts (gid 5 is unmapped), and no
    // cgroup device rules (an unprivileged runtime cannot apply them).
    l.namespaces.erase(std::remove_if(l.namespaces.begin(), l.namespaces.end(),
                                      [](const Namespace& n) { return n.type == "network"; }),
                       l.namespaces.end());
    l.namespaces.push_back({"user", ""});
    l.uid_mappings = {IdMapping{.container_id = 0, .host_id = geteuid(), .size = 1}};
    l.gid_mappings = {IdMapping{.container_id = 0, .host_id = getegid(), .size = 1}};
    l.resources.reset();
    for (Mount& m : s.mounts) {
      if (m.destination == "/sys") {
        m = MakeMount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      }
      std::erase_if(m.options, [](const std::string& o) {
        return base::StartsWith(o, "gid=") || base::StartsWith(o, "uid=");
      });
    }
  }
  return s;
}

std::string FeaturesJson() {
  OJson f = OJson::object();
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = kOciVersion;
  f["hooks"] = {"prestart",       "createRuntime", "createContainer",
                "startContainer", "poststart",     "poststop"};
  // Exactly what runtime/linux/mount_options.cc maps to mount(2) flags. Left out: "rro" and the
  // other recursive mount_setattr attributes, "tmpcopyup", "idmap" (not implemented; dockerd
  // enables read-only-recursive binds when it sees "rro"), and "defaults" is accepted but a no-op.
  std::vector<std::string> mount_options = {
      "async",      "atime",         "bind",       "defaults", "dev",
      "diratime",   "dirsync",       "exec",       "loud",     "mand",
      "noatime",    "nodev",         "nodiratime", "noexec",   "nomand",
      "norelatime", "nostrictatime", "nosuid",     "private",  "rbind",
      "relatime",   "remount",       "ro",         "rprivate", "rshared",
      "rslave",     "runbindable",   "rw",         "shared",   "silent",
      "slave",      "strictatime",   "suid",       "sync",     "unbindable"};
  std::sort(mount_options.begin(), mount_options.end());
  f["mountOptions"] = mount_options;

  OJson lf = OJson::object();
  lf["namespaces"] = ToVector(kNamespaceTypes);
  lf["capabilities"] = kCapabilityNames;
  OJson cgroup = OJson::object();
  cgroup["v1"] = true;
  cgroup["v2"] = true;
  cgroup["systemd"] = false;
  cgroup["systemdUser"] = false;
  lf["cgroup"] = std::move(cgroup);
  OJson seccomp = OJson::object();
  seccomp["enabled"] = true;
  seccomp["actions"] = ToVector(kSeccompActions);
  seccomp["operators"] = ToVector(kSeccompOperators);
  seccomp["archs"] = ToVector(kSeccompArchs);
  seccomp["knownFlags"] = ToVector(kSeccompKnownFlags);
  seccomp["supportedFlags"] = ToVector(kSeccompSupportedFlags);
  lf["seccomp"] = std::move(seccomp);
  lf["apparmor"] = OJson{{"enabled", false}};
  lf["selinux"] = OJson{{"enabled", false}};
  f["linux"] = std::move(lf);
  f["annotations"] = OJson{{"io.berth.runtime.version", "0.1.0"}};
  return Dump(f, 4, ' ');
}

std::string SerializeState(const State& state) {
  // runc's containerState declares annotations before owner; keep its order.
  OJson o = OJson::object();
  o["ociVersion"] = state.oci_version;
  o["id"] = state.id;
  o["pid"] = state.pid;
  o["status"] = state.status;
  o["bundle"] = state.bundle;
  o["rootfs"] = state.rootfs;
  o["created"] = state.created;
  if (!state.annotations.empty()) o["annotations"] = state.annotations;
  o["owner"] = state.owner;
  return Dump(o, 2, ' ');
}

}  // namespace berth::oci
