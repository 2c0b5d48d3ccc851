// The standby shim: daemonize, wait for an assignment, run it.
#include "shim/standby.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "oci/runtime_config.h"
#include "runtime/cgroup/layout.h"
#include "runtime/container.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/seccomp.h"
#include "shim/options.h"
#include "shim/shim.h"
#include "sys/file.h"
#include "sys/socket.h"

namespace berth::shim {

std::string EncodeAssignment(const std::vector<std::string>& args) {
  std::string record;
  for (const auto& a : args) {
    record += a;
    record += '\0';
  }
  return record;
}

std::vector<std::string> DecodeAssignment(std::string_view record) {
  std::vector<std::string> args;
  while (!record.empty()) {
    size_t end = record.find('\0');
    if (end == std::string_view::npos) end = record.size();
    args.emplace_back(record.substr(0, end));
    record.remove_prefix(std::min(end + 1, record.size()));
  }
  return args;
}

namespace {

// An OCI config of the shape berthd writes (Docker's defaults, cut short).
constexpr std::string_view kSampleConfig = R"({"ociVersion":"1.0.2","process":{"user":{"uid":0,
"gid":0,"additionalGids":[0,1,2]},"args":["sh","-c","true"],"env":["PATH=/usr/bin:/bin","A=b"],
"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_CHOWN"],
"permitted":["CAP_CHOWN"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],
"noNewPrivileges":false,"oomScoreAdj":0},"root":{"path":"rootfs","readonly":false},
"hostname":"0123456789ab","mounts":[{"destination":"/proc","type":"proc","source":"proc",
"options":["nosuid","noexec","nodev"]},{"destination":"/dev","type":"tmpfs","source":"tmpfs",
"options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/etc/hosts",
"type":"bind","source":"/var/lib/x/hosts","options":["rbind","rprivate"]}],"linux":{
"resources":{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,
"minor":3,"access":"rwm"}],"memory":{"limit":67108864},"cpu":{"shares":512},"pids":{"limit":
100},"blockIO":{"weight":500}},"cgroupsPath":"/berth/0123456789ab","namespaces":[{"type":"pid"},
{"type":"mount"},{"type":"network"}],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO",
"defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[{"names":
["accept","read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["personality"],"action":
"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]},
"maskedPaths":["/proc/kcore","/sys/firmware"],"readonlyPaths":["/proc/bus","/proc/sys"]}})";

// WarmUp's heap: touched, and kept by the allocator until the shim's idle trim.
constexpr size_t kTouchedHeap = 256 << 10;
constexpr size_t kTouchBlock = 1 << 10;
constexpr size_t kKeptHeap = 1 << 20;

}  // namespace

bool WarmUp() {
  // While nobody waits for it: the first parse of a config in a process runs cold (its code and
  // the heap it grows are touched for the first time: ~0.5 ms more than a later parse on the
  // reference VM), and a start waits for this shim's parse.
  auto spec = oci::ParseSpec(kSampleConfig);
  // The launch's next steps, likewise: the host's cgroup layout (read from mountinfo once per
  // process, then cached) and the seccomp cache key (a SHA-256 over the profile).
  (void)runtime::cgroup::DetectHostLayout();
  runtime::PrepareLaunch();
  if (spec && spec->linux && spec->linux->seccomp)
    (void)runtime::linux::SeccompCacheKey(*spec->linux->seccomp);
  // The heap the launch will use: a config of Docker's defaults is ~600 JSON values, and its
  // DOM and structs fill ~100 KB of heap the sample above never reached. A first touch of a
  // heap page is a page fault (~10 us here): touched now, and kept (a free no longer trims
  // below 1 MiB; the shim's idle trim, TrimResidentPages, hands them back with malloc_trim).
  ::mallopt(M_TRIM_THRESHOLD, kKeptHeap);
  {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (size_t i = 0; i < kTouchedHeap / kTouchBlock; ++i) {
      blocks.emplace_back(new char[kTouchBlock]);
      std::memset(blocks.back().get(), 0, kTouchBlock);
    }
  }
  return spec.has_value();
}

std::optional<StandbyArgs> ParseStandbyArgs(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "--standby") return std::nullopt;
  StandbyArgs out;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--seccomp-hint" && i + 1 < args.size()) {
      out.seccomp_hint = args[++i];
    } else if (args[i].rfind("--seccomp-hint=", 0) == 0) {
      out.seccomp_hint = args[i].substr(std::strlen("--seccomp-hint="));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<oci::KnownSeccomp> LoadSeccompHint(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto text = sys::ReadFile(path);
  if (!text) return std::nullopt;
  auto known = oci::ParseKnownSeccomp(std::move(*text));
  if (!known) return std::nullopt;
  return std::move(*known);
}

int RunStandby(const StandbyArgs& args) {
  int ready = Daemonize({kStandbyFd});
  (void)WarmUp();
  std::shared_ptr<const oci::KnownSeccomp> known;
  if (auto loaded = LoadSeccompHint(args.seccomp_hint))
    known = std::make_shared<const oci::KnownSeccomp>(std::move(*loaded));
  // The container's network namespace, made now rather than in its clone. Without one (no
  // privilege, say) the container makes its own as usual.
  sys::UniqueFd netns;
  if (auto made = runtime::linux::NewNetworkNamespace()) netns = std::move(*made);
  // The spawner only waits for the daemon to exist: from here on, berthd talks to us on the
  // socket.
  (void)sys::WriteAll(ready, "ok\n");
  ::close(ready);
  auto message = sys::RecvFds(kStandbyFd, kMaxAssignmentBytes, kMaxAssignmentFds);
  if (!message) {
    (void)sys::WriteAll(kStandbyFd, message.error().message() + "\n");
    return 2;
  }
  if (message->payload.empty() && message->fds.empty()) return 0;  // dropped before any work
  auto options = ParseOptions(DecodeAssignment(message->payload));
  if (!options) {
    (void)sys::WriteAll(kStandbyFd, options.error().message() + "\n");
    return 2;
  }
  // berthd sends absolute paths (a relative one would resolve against the daemon's "/").
  if (auto abs = MakeAbsolute(*options); !abs) {
    (void)sys::WriteAll(kStandbyFd, abs.error().message() + "\n");
    return 2;
  }
  for (auto& fd : message->fds) options->attach_fds.push_back(fd.Release());
  options->spare_netns = netns.Release();
  options->known_seccomp = std::move(known);  // the shim's from here: it lets it go after use
  if (options->prelaunch) options->start_channel = kStandbyFd;
  return RunShim(std::move(*options), kStandbyFd);
}

}  // namespace berth::shim
