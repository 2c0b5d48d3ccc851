// Handlers of the container routes; see container_routes.h and the Engine API reference in
// /work/shared/reference/docker-engine-api.md.
#include "daemon/container_routes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "base/time.h"
#include "daemon/container_filter.h"
#include "daemon/container_internal.h"
#include "daemon/container_monitor.h"
#include "daemon/exec_process.h"
#include "daemon/query.h"
#include "daemon/system_routes.h"
#include "daemon/worker_pool.h"
#include "image/image_service.h"
#include "oci/image_spec.h"
#include "oci/reference.h"
#include "oci/runtime_config.h"
#include "sys/file.h"
#include "sys/mount.h"
#include "sys/socket.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace berth::daemon {
namespace {

using base::Error;
using base::Fail;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int64_t kMaxConfigSize = 8 << 20;

// A docker-style "adjective_name"; a random suffix makes collisions practically impossible.
std::string GenerateName() {
  static const char* kAdjectives[] = {"brave", "calm", "eager", "fervent", "gallant", "happy",
                                      "jolly", "keen", "lucid", "nifty",   "quirky",  "serene"};
  static const char* kNames[] = {"hopper",   "lovelace", "turing",   "ritchie",
                                 "thompson", "knuth",    "dijkstra", "liskov",
                                 "torvalds", "wirth",    "kay",      "hamilton"};
  std::string r = RandomHex(3);
  unsigned v = std::stoul(r, nullptr, 16);
  return fmt::format("{}_{}_{}", kAdjectives[v % std::size(kAdjectives)],
                     kNames[(v / 16) % std::size(kNames)], r.substr(0, 4));
}

bool ValidName(std::string_view n) {
  if (n.size() < 2) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

// /etc/hosts as dockerd writes it: the host's own with --network host; without a container
// network (none, and the default until berth has networks) the standard entries only (the
// hostname gets a line once the container has an address of its own).
std::string HostsFile(bool host_net) {
  if (host_net) {
    if (auto text = sys::ReadFile("/etc/hosts")) return *text;
  }
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n";
}

// What the create's background task needs once the spec is written: the prelaunched shim,
// when the standby took the container, and the working directory to make in the rootfs first.
struct PrelaunchPlan {
  PrelaunchedShim shim;
  std::string workdir;
};

// Begins the rootfs mount of a container being created (PendingMounts); `plan` is made here,
// and the task goes on with it (prelaunch) once the create sets its value.
void BeginPremount(ContainerContext* ctx, const ContainerRecord& rec, const Paths& p,
                   std::shared_ptr<std::promise<PrelaunchPlan>>& plan) {
  plan = std::make_shared<std::promise<PrelaunchPlan>>();
  auto planned = std::make_shared<std::future<PrelaunchPlan>>(plan->get_future());
  ctx->premounts.Begin(rec.id, [ctx, id = rec.id, rootfs = p.rootfs, log = p.log,
                                throwaway = rec.auto_remove, planned] {
    // The shim's log file too, made here on the other CPU rather than by the shim on the way to
    // the container's start: a new inode on the data root cost ~0.15 ms in a trace (the shim
    // opens it O_CREAT|O_APPEND either way).
    (void)sys::Open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    Premount out;
    out.mounted = MountRootfs(ctx, id, rootfs, throwaway);
    PrelaunchPlan prelaunch = planned->get();
    // Dropped (which removes it) when it cannot go on; a failure is the start's to report: it
    // runs the container the usual way and meets the same error.
    if (!prelaunch.shim || !out.mounted || !MakeWorkingDir(rootfs, prelaunch.workdir)) return out;
    if (auto told = prelaunch.shim.Mounted(); !told) {
      base::LogDebug("prelaunch {}: {}", id, told.error().message());
      return out;
    }
    out.prelaunched = std::move(prelaunch.shim);
    return out;
  });
}

base::Result<Response> Create(ContainerContext* ctx, Request& req) {
  Query q(req.query);
  spec::CreateRequest cr = TRY(spec::ParseCreateRequest(req.body));
  TRY(spec::ValidateCreateRequest(cr));
  if (cr.config.image.empty()) return Fail(Error::InvalidArgument("No image specified"));
  std::string name = q.Get("name");
  if (base::StartsWith(name, "/")) name = name.substr(1);
  if (!name.empty() && !ValidName(name))
    return Fail(Error::InvalidArgument(fmt::format(
        "Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)));
  if (name.empty()) name = GenerateName();
  if (auto other = ctx->containers->Find(name); other && other->name == name)
    return Fail(Error::Conflict(fmt::format(
        "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to "
        "remove (or rename) that container to be able to reuse that name.",
        name, other->id)));

  ContainerRecord rec;
  rec.id = RandomHex(32);
  rec.name = name;
  rec.image = cr.config.image;
  rec.created = base::NowRfc3339Nano();
  rec.request = req.body.empty() ? "{}" : req.body;
  rec.tty = cr.config.tty;
  rec.auto_remove = cr.host_config.auto_remove;
  rec.labels = std::make_shared<const std::map<std::string, std::string>>(cr.config.labels);
  Paths p = PathsOf(ctx, rec.id);
  // A --rm container's files are not synced (ContainerRecord::auto_remove); they go into
  // directories made here, so they are written in place.
  auto write_file = rec.auto_remove ? sys::WriteNewFile : sys::WriteFileAtomic;

  // Everything below is undone on failure, so a refused create leaves nothing behind.
  bool snapshot = false;
  // The standby shim, when there is one, takes the container now (ShimPool::Prelaunch) and sets
  // up what it can while the create goes on; the background task (PendingMounts), once begun,
  // waits for `plan` to take it further.
  PrelaunchedShim prelaunch;
  std::shared_ptr<std::promise<PrelaunchPlan>> plan;
  auto release_plan = [&](PrelaunchPlan value) {
    if (plan) plan->set_value(std::move(value));
    plan.reset();
  };
  auto cleanup = [&] {
    release_plan({});
    if (ctx->premounts.Take(rec.id)) UnmountRootfs(p.rootfs);
    prelaunch.Cancel();
    (void)sys::RemoveAll(p.state);
    if (snapshot) (void)ctx->images->snapshots->RemoveContainer(rec.id);
    (void)sys::RemoveAll(ctx->exec_root + "/containers/" + rec.id);
    (void)sys::RemoveAll(p.data);
  };
  auto fail = [&](const Error& e) -> base::Result<Response> {
    cleanup();
    return Fail(e);
  };

  if (ctx->shim_pool) {
    if (sys::UniqueFd standby = ctx->shim_pool->Take()) {
      std::vector<std::string> args = ShimArgs(ctx, rec, p, cr);
      args.insert(args.end(), {"--prelaunch", "--prelaunch-cgroups",
                               spec::DefaultCgroupsPath(cr.host_config, rec.id)});
      if (auto taken = ShimPool::Prelaunch(std::move(standby), args)) prelaunch = std::move(*taken);
    }
  }

  // The image, while the shim sets up (its arguments need none of it). An unknown one cancels
  // the prelaunch: `docker run` pulls after this 404 and creates again.
  auto resolved = ctx->images->service->Resolve(cr.config.image);
  if (!resolved && resolved.error().code() == base::ErrorCode::kNotFound) {
    // Not an image id prefix either way: a malformed name is the client's error (400), as
    // dockerd's "invalid reference format: repository name must be lowercase".
    bool hex = cr.config.image.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (auto ref = oci::ParseReference(cr.config.image); !ref && !hex) return fail(ref.error());
  }
  if (!resolved) return fail(resolved.error());
  image::ImageRecord image = std::move(*resolved);
  auto raw = ctx->images->content->ReadAll(image.id, kMaxConfigSize);
  if (!raw) return fail(raw.error().Context("image config"));
  auto parsed_config = oci::ParseImageConfig(*raw);
  if (!parsed_config) return fail(parsed_config.error().Context("image config"));
  oci::ImageConfig image_config = std::move(*parsed_config);
  rec.image_id = image.id.ToString();

  // The container's layer, before the spec: user and group names ("-u nobody", an image's USER
  // redis) are looked up in the container's own /etc/passwd and /etc/group (the layer is then
  // mounted for that moment only, below); without them its mount begins at once.
  auto make_layer = [&]() -> base::Status {
    std::optional<oci::Digest> parent;
    if (!image.layers.empty()) parent = image.layers.back().chain_id;
    // The mount points of every container's generated spec, made once per image instead of in
    // each container's upper dir at each start. A failure only costs speed.
    if (parent) {
      static const std::vector<image::MountPoint> kMountPoints = {
          {"proc", true},       {"sys", true},           {"dev", true},
          {"etc/hosts", false}, {"etc/hostname", false}, {"etc/resolv.conf", false}};
      if (auto st = ctx->images->snapshots->EnsureInitLayer(*parent, kMountPoints); !st)
        base::LogWarn("{}", st.error().message());
    }
    TRY(ctx->images->snapshots->PrepareContainer(rec.id, parent, !rec.auto_remove));
    snapshot = true;
    return {};
  };
  if (auto st = sys::MkdirAll(p.rootfs, 0755); !st) return fail(st.error());
  if (auto st = ctx->containers->MakeDir(rec.id); !st) return fail(st.error());
  std::string user = !cr.config.user.empty() ? cr.config.user : image_config.config.user;
  bool named = user.find_first_not_of("0123456789:") != std::string::npos;
  for (const auto& g : cr.host_config.group_add)
    named = named || g.find_first_not_of("0123456789") != std::string::npos;
  if (named) {
    if (auto st = make_layer(); !st) return fail(st.error());
  } else {
    // The layer now, and its mount on the other CPU while the spec is made and written: the
    // prelaunching shim needs both, and the mount is the longer way (~0.3-1 ms).
    if (auto st = make_layer(); !st) return fail(st.error());
    BeginPremount(ctx, rec, p, plan);
  }

  bool host_net = cr.host_config.network_mode == "host";
  std::string hostname = !cr.config.hostname.empty() ? cr.config.hostname
                         : host_net                  ? ctx->host.hostname
                                                     : rec.id.substr(0, 12);
  spec::ContainerPaths cp;
  cp.id = rec.id;
  cp.rootfs = p.rootfs;
  // Its directory exists: the exec root's one with p.rootfs above, else p.data.
  std::string net_dir = NetworkFilesDir(ctx, rec);
  cp.hostname_file = net_dir + "/hostname";
  cp.hosts_file = net_dir + "/hosts";
  cp.resolv_conf_file = net_dir + "/resolv.conf";
  cp.init_binary = FindInitBinary(ctx->init_path);
  cp.default_init = ctx->default_init;
  std::string resolv = sys::ReadFile("/etc/resolv.conf").value_or("");
  for (auto [path, text] :
       {std::pair{cp.hostname_file, hostname + "\n"}, std::pair{cp.hosts_file, HostsFile(host_net)},
        std::pair{cp.resolv_conf_file, resolv}}) {
    if (auto st = write_file(path, text, 0644); !st) return fail(st.error());
  }

  // No container networking yet: the default (bridge) network is a private, empty netns.
  spec::CreateRequest for_spec = cr;
  std::string& mode = for_spec.host_config.network_mode;
  if (mode.empty() || mode == "default" || mode == "bridge") mode = "none";
  if (mode != "none" && mode != "host")
    return fail(Error::NotFound(fmt::format("network {} not found", mode)));
  if (named) {
    if (auto st = MountRootfs(ctx, rec.id, p.rootfs); !st) return fail(st.error());
    std::string passwd = ReadInRoot(p.rootfs, "/etc/passwd");
    std::string group = ReadInRoot(p.rootfs, "/etc/group");
    UnmountRootfs(p.rootfs);
    cp.resolve_user = [passwd, group](std::string_view spec,
                                      bool is_group) -> base::Result<oci::User> {
      if (is_group) return ResolveExecUser("0:" + std::string(spec), passwd, group);
      return ResolveExecUser(spec, passwd, group);
    };
  }
  std::vector<std::string> warnings;
  auto oci_spec = spec::GenerateSpec(for_spec, image_config, ctx->host, cp, &warnings);
  if (!oci_spec) return fail(oci_spec.error());
  oci_spec->root.path = p.rootfs;
  // HostConfig.ConsoleSize [height, width]: the pty has the client's size from the start, so a
  // program that asks at once does not see 0x0 before the first resize arrives.
  if (oci_spec->process && oci_spec->process->terminal) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_object() && body.contains("HostConfig") && body["HostConfig"].is_object()) {
      const json& size = body["HostConfig"].value("ConsoleSize", json());
      if (size.is_array() && size.size() == 2 && size[0].is_number_unsigned() &&
          size[1].is_number_unsigned() && size[0].get<uint64_t>() > 0 &&
          size[1].get<uint64_t>() > 0 && size[0].get<uint64_t>() < 65536 &&
          size[1].get<uint64_t>() < 65536)
        oci_spec->process->console_size =
            oci::ConsoleSize{uint32_t(size[0].get<uint64_t>()), uint32_t(size[1].get<uint64_t>())};
    }
  }
  if (oci_spec->process) rec.working_dir = oci_spec->process->cwd;
  // Path and Args are the container's command without the init in front, as dockerd's.
  size_t command = spec::UsesInit(for_spec.host_config, cp.default_init) ? 2 : 0;
  if (oci_spec->process && oci_spec->process->args.size() > command) {
    const std::vector<std::string>& args = oci_spec->process->args;
    rec.path = args[command];
    rec.args.assign(args.begin() + long(command) + 1, args.end());
  }
  if (auto st = write_file(p.bundle + "/config.json", oci::SerializeSpec(*oci_spec), 0600); !st)
    return fail(st.error());
  // The prelaunch goes on (its setup runs while the create ends, and the client reads this reply
  // and sends its attach, wait and start), unless the shim is gone.
  if (prelaunch) (void)prelaunch.Configured();
  // The rootfs is mounted on the other CPU meanwhile (begun above without a user to look up).
  // Begun before the record is visible: a start (by name) racing this create finds it pending.
  if (named) BeginPremount(ctx, rec, p, plan);
  release_plan(PrelaunchPlan{std::move(prelaunch), rec.working_dir});
  if (auto st = ctx->containers->Add(rec); !st) return fail(st.error());
  base::LogInfo("created container {} ({})", rec.id, rec.name);
  // The next create's layer and directory, while the client goes on with this one; and the
  // profile for the next standby shims (the config is written: the spec is done with).
  std::shared_ptr<const oci::Seccomp> profile;
  if (ctx->shim_pool && oci_spec->linux && oci_spec->linux->seccomp)
    profile = std::make_shared<const oci::Seccomp>(std::move(*oci_spec->linux->seccomp));
  if (ctx->background)
    ctx->background->Run([ctx, profile] {
      if (profile) ctx->shim_pool->NoteSeccompProfile(oci::SeccompValueText(*profile));
      if (auto st = ctx->images->snapshots->MakeSpareContainerDir(); !st)
        base::LogDebug("{}", st.error().message());
      if (auto st = ctx->containers->MakeSpareDir(); !st)
        base::LogDebug("{}", st.error().message());
    });
  PublishContainerEvent(ctx, rec, "create");
  return Response::Json(201, json{{"Id", rec.id}, {"Warnings", warnings}}.dump());
}

json ExecIdsJson(const ContainerContext* ctx, const std::string& id) {
  std::vector<std::string> ids = ExecIdsOf(ctx, id);
  if (ids.empty()) return nullptr;
  return ids;
}

// NetworkSettings with every field dockerd reports, so templates such as
// {{.NetworkSettings.IPAddress}} print "" rather than "<no value>". Until berth has container
// networks, the default mode is a private namespace with lo only: listed as "none".
json NetworkSettingsJson(const std::string& mode) {
  json endpoint = {{"IPAMConfig", nullptr},   {"Links", nullptr},         {"Aliases", nullptr},
                   {"NetworkID", ""},         {"EndpointID", ""},         {"Gateway", ""},
                   {"IPAddress", ""},         {"IPPrefixLen", 0},         {"IPv6Gateway", ""},
                   {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"MacAddress", ""},
                   {"DriverOpts", nullptr}};
  json networks = json::object();
  networks[mode == "host" ? "host" : "none"] = endpoint;
  return {{"Bridge", ""},
          {"SandboxID", ""},
          {"HairpinMode", false},
          {"LinkLocalIPv6Address", ""},
          {"LinkLocalIPv6PrefixLen", 0},
          {"Ports", json::object()},
          {"SandboxKey", ""},
          {"SecondaryIPAddresses", nullptr},
          {"SecondaryIPv6Addresses", nullptr},
          {"EndpointID", ""},
          {"Gateway", ""},
          {"GlobalIPv6Address", ""},
          {"GlobalIPv6PrefixLen", 0},
          {"IPAddress", ""},
          {"IPPrefixLen", 0},
          {"IPv6Gateway", ""},
          {"MacAddress", ""},
          {"Networks", networks}};
}

// GraphDriver as dockerd's overlay2 reports it: the layer directories of the container's
// snapshot and the rootfs mount point.
json GraphDriverJson(const ContainerContext* ctx, const ContainerRecord& rec) {
  json data = json::object();
  auto mounts = ctx->images->snapshots->ContainerMounts(rec.id);
  if (mounts && !mounts->empty()) {
    for (const std::string& o : mounts->front().options) {
      for (auto [key, name] :
           {std::pair{"lowerdir=", "LowerDir"}, std::pair{"upperdir=", "UpperDir"},
            std::pair{"workdir=", "WorkDir"}})
        if (base::StartsWith(o, key)) data[name] = o.substr(std::string_view(key).size());
    }
    data["MergedDir"] = PathsOf(ctx, rec.id).rootfs;
  }
  return {{"Data", data}, {"Name", "overlay2"}};
}

json InspectJson(const ContainerContext* ctx, const ContainerRecord& rec) {
  json body = ParseRequestJson(rec);
  const std::string net_dir = NetworkFilesDir(ctx, rec);
  json host_config = body.contains("HostConfig") ? body["HostConfig"] : json::object();
  if (!host_config.is_object()) host_config = json::object();
  // dockerd fills in its defaults; docker-py reads HostConfig.LogConfig.Type after a run.
  json defaults = {{"LogConfig", {{"Type", "json-file"}, {"Config", json::object()}}},
                   {"NetworkMode", "default"},
                   {"RestartPolicy", {{"Name", "no"}, {"MaximumRetryCount", 0}}},
                   {"AutoRemove", false},
                   {"Privileged", false},
                   {"ReadonlyRootfs", false},
                   {"Binds", nullptr},
                   {"CapAdd", nullptr},
                   {"CapDrop", nullptr},
                   {"ShmSize", 67108864},
                   {"KernelMemory", 0},
                   {"KernelMemoryTCP", 0},
                   {"Runtime", "runc"},
                   {"Isolation", ""}};
  for (auto& [k, v] : defaults.items()) {
    if (!host_config.contains(k) || host_config[k].is_null()) host_config[k] = v;
  }
  if (host_config["LogConfig"].is_object() && host_config["LogConfig"].value("Type", "").empty())
    host_config["LogConfig"]["Type"] = "json-file";
  json config = body;
  config.erase("HostConfig");
  config.erase("NetworkingConfig");
  config["Image"] = rec.image;
  Paths p = PathsOf(ctx, rec.id);
  const ContainerState& s = rec.state;
  return {
      {"Id", rec.id},
      {"Created", rec.created},
      {"Path", rec.path},
      {"Args", rec.args},
      {"State",
       {{"Status", s.paused ? "paused" : s.status},
        {"Running", s.status == "running"},
        {"Paused", s.paused},
        {"Restarting", false},
        {"OOMKilled", s.oom_killed},
        {"Dead", false},
        {"Pid", s.pid},
        {"ExitCode", s.exit_code},
        {"Error", s.error},
        {"StartedAt", s.started_at},
        {"FinishedAt", s.finished_at}}},
      {"Image", rec.image_id},
      {"ResolvConfPath", net_dir + "/resolv.conf"},
      {"HostnamePath", net_dir + "/hostname"},
      {"HostsPath", net_dir + "/hosts"},
      {"LogPath", p.log},
      {"Name", "/" + rec.name},
      {"RestartCount", rec.restart_count},
      {"Driver", "overlay2"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", ExecIdsJson(ctx, rec.id)},
      {"HostConfig", host_config},
      {"Mounts", json::array()},
      {"Config", config},
      {"GraphDriver", GraphDriverJson(ctx, rec)},
      {"NetworkSettings", NetworkSettingsJson(host_config["NetworkMode"].is_string()
                                                  ? host_config["NetworkMode"].get<std::string>()
                                                  : std::string("default"))}};
}

std::string StatusText(const ContainerState& s) {
  int64_t now = time(nullptr);
  if (s.status == "running")
    return "Up " + HumanDuration(now - image::ParseRfc3339(s.started_at)) +
           (s.paused ? " (Paused)" : "");
  if (s.status == "exited")
    return fmt::format("Exited ({}) {} ago", s.exit_code,
                       HumanDuration(now - image::ParseRfc3339(s.finished_at)));
  return "Created";
}

Response List(ContainerContext* ctx, const Query& q) {
  bool all = q.Bool("all");
  auto filters = Filters::Parse(q.Get("filters"));
  if (!filters) return Response::FromError(filters.error());
  auto filter = ContainerFilter::Make(
      *filters, [ctx](const std::string& ref) { return ctx->containers->Find(ref); });
  if (!filter) return Response::FromError(filter.error());
  int64_t limit = base::ParseInt(q.Get("limit", "-1")).value_or(-1);
  // As dockerd: a status filter or a limit lists stopped containers too.
  all = all || filter->ImpliesAll() || limit > 0;
  std::vector<ContainerRecord> recs = ctx->containers->List();
  for (auto& r : recs) Refresh(ctx, r);
  // Newest first, as dockerd lists them.
  std::sort(recs.begin(), recs.end(),
            [](const auto& a, const auto& b) { return a.created > b.created; });
  json out = json::array();
  for (const auto& r : recs) {
    if (!all && r.state.status != "running") continue;
    if (limit > 0 && int64_t(out.size()) >= limit) break;
    // dockerd quotes the arguments that hold a space (daemon/list.go), nothing else.
    std::string command = r.path;
    for (const auto& a : r.args)
      command += a.find(' ') == std::string::npos ? " " + a : " '" + a + "'";
    json body = ParseRequestJson(r);
    json labels =
        body.contains("Labels") && body["Labels"].is_object() ? body["Labels"] : json::object();
    std::string net = "default";
    if (body.contains("HostConfig") && body["HostConfig"].is_object())
      net = body["HostConfig"].value("NetworkMode", "default");
    if (net.empty()) net = "default";
    ContainerFacts facts;
    facts.network_mode = net;
    for (const auto& [k, v] : labels.items())
      if (v.is_string()) facts.labels[k] = v.get<std::string>();
    if (!filter->Matches(r, facts)) continue;
    out.push_back({{"Id", r.id},
                   {"Names", {"/" + r.name}},
                   {"Image", r.image},
                   {"ImageID", r.image_id},
                   {"Command", command},
                   {"Created", image::ParseRfc3339(r.created)},
                   {"Ports", json::array()},
                   {"Labels", labels},
                   {"State", r.state.paused ? "paused" : r.state.status},
                   {"Status", StatusText(r.state)},
                   {"HostConfig", {{"NetworkMode", net}}},
                   {"NetworkSettings", {{"Networks", json::object()}}},
                   {"Mounts", json::array()}});
  }
  return Response::Json(200, out.dump());
}

// Docker's wait: the headers go out at once (the CLI blocks on them before it starts the
// container), the body {"StatusCode"} when the condition is met: not-running (at once when the
// container is not running), next-exit, removed. Exits are seen as "die" events.
Response Wait(ContainerContext* ctx, const std::string& name, const Query& q) {
  std::string condition = q.Get("condition");
  if (condition.empty()) condition = "not-running";
  if (condition != "not-running" && condition != "next-exit" && condition != "removed")
    return Response::ErrorMessage(400, fmt::format("invalid condition: \"{}\"", condition));
  // The cursor is taken before the state is read, so no exit can fall between the two.
  uint64_t cursor = ctx->events->Next();
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  return Response::JsonStream(
      [ctx, rec = *rec, condition, cursor](BodyWriter& w) mutable {
        bool running = rec.state.status == "running" || rec.state.status == "paused";
        int code = rec.state.exit_code;
        bool done = condition == "not-running" && !running;
        auto beat = std::chrono::steady_clock::now() + 5s;
        while (!done && !ctx->events->closed()) {
          for (const Event& e : ctx->events->Read(&cursor, std::chrono::steady_clock::now() + 1s)) {
            if (e.type != "container" || e.id != rec.id) continue;
            if (e.action == "die") {
              auto it = e.attributes.find("exitCode");
              code = it == e.attributes.end() ? 0 : std::atoi(it->second.c_str());
              if (condition != "removed") done = true;
            } else if (e.action == "destroy") {
              done = true;
            }
          }
          // Whitespace before the JSON value is harmless to every decoder, and a client that hung
          // up (`docker run -d` drops this request) is noticed by the failed write.
          if (!done && std::chrono::steady_clock::now() >= beat) {
            if (!w.Write("\n")) return;
            beat = std::chrono::steady_clock::now() + 5s;
          }
        }
        w.Write(json{{"StatusCode", code}, {"Error", nullptr}}.dump() + "\n");
      },
      /*trim_after_stream=*/false);
}

Response Kill(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  if (rec->state.status != "running")
    return Response::ErrorMessage(
        409, fmt::format("Cannot kill container: {}: Container {} is not running", name, rec->id));
  std::string sig = q.Get("signal", "KILL");
  if (sig.empty()) sig = "KILL";
  // As dockerd: a container killed through the API is not restarted by its policy.
  rec->manually_stopped = true;
  (void)ctx->containers->Update(*rec);
  if (auto st = ShimControl(ctx, rec->id, "kill " + sig); !st) {
    if (st.error().message().find("invalid") != std::string::npos ||
        st.error().message().find("unknown") != std::string::npos)
      return Response::ErrorMessage(400, st.error().message());
    return Response::FromError(st.error());
  }
  // A paused container would hold a KILL until unpaused; docker kill must end it now.
  std::string upper = sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "KILL" || upper == "SIGKILL" || upper == "9") ThawSignalled(ctx, *rec);
  PublishContainerEvent(ctx, *rec, "kill", {{"signal", sig}});
  return Response::Text(204, "");
}

Response Stop(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  if (rec->state.status != "running") {
    // Exited, but perhaps waiting out its restart policy's back-off: dockerd reports that as
    // running and restarting, and its stop cancels the restart (204). Marking the container
    // stopped through the API is what cancels it here; a plain stopped one answers 304.
    bool pending = ctx->monitor && ctx->monitor->RestartPending(rec->id);
    auto lock = ctx->containers->OpLock(rec->id);
    std::lock_guard guard(*lock);
    auto now = FindFresh(ctx, rec->id);
    if (now && now->state.status != "running") {
      if (!now->manually_stopped) {
        now->manually_stopped = true;
        (void)ctx->containers->Update(*now);
      }
      return Response::Text(pending ? 204 : 304, "");
    }
    if (!now) return Response::FromError(now.error());
    rec = std::move(now);  // restarted meanwhile: stop this run
  }
  spec::CreateRequest cr = spec::ParseCreateRequest(rec->request).value_or(spec::CreateRequest{});
  std::string signal = q.Get("signal", cr.config.stop_signal);
  if (signal.empty()) signal = "TERM";
  int timeout = cr.config.stop_timeout.value_or(10);
  if (std::string t = q.Get("t"); !t.empty()) {
    try {
      timeout = std::stoi(t);
    } catch (const std::exception&) {
      return Response::ErrorMessage(400, "invalid value for t: " + t);
    }
  }
  return Response::Deferred([ctx, rec = *rec, signal, timeout]() mutable {
    auto lock = ctx->containers->OpLock(rec.id);
    std::lock_guard guard(*lock);
    rec.manually_stopped = true;
    (void)ctx->containers->Update(rec);
    if (auto st = StopContainer(ctx, rec, signal, timeout); !st)
      return Response::FromError(st.error());
    PublishContainerEvent(ctx, rec, "stop");
    return Response::Text(204, "");
  });
}

Response Remove(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  bool force = q.Bool("force");
  if (rec->state.status == "running" && !force)
    return Response::ErrorMessage(
        409, fmt::format("You cannot remove a running container {}. Stop the container before "
                         "attempting removal or force remove",
                         rec->id));
  return Response::Deferred([ctx, rec = *rec]() mutable {
    auto lock = ctx->containers->OpLock(rec.id);
    std::lock_guard guard(*lock);
    Refresh(ctx, rec);
    if (rec.state.status == "running") {
      if (auto st = StopContainer(ctx, rec, "KILL", 0); !st) return Response::FromError(st.error());
    }
    if (auto st = RemoveContainer(ctx, rec); !st) return Response::FromError(st.error());
    return Response::Text(204, "");
  });
}

}  // namespace

Response StartContainer(ContainerContext* ctx, const std::string& name, bool by_policy) {
  auto found = ctx->containers->Find(name);
  if (!found) return Response::FromError(found.error());
  auto lock = ctx->containers->OpLock(found->id);
  std::lock_guard guard(*lock);
  auto rec = FindFresh(ctx, found->id);
  if (!rec) return Response::FromError(rec.error());
  if (rec->state.paused)
    return Response::ErrorMessage(409, "cannot start a paused container, try unpause instead");
  if (rec->state.status == "running") return Response::Text(304, "");
  if (by_policy && rec->manually_stopped) return Response::Text(304, "");
  Paths p = PathsOf(ctx, rec->id);
  // The first start after create: usually mounted already, often prelaunched (PendingMounts).
  std::optional<Premount> premount = ctx->premounts.Take(rec->id);
  // Connections that attached before the start become the shim's first clients.
  std::vector<sys::UniqueFd> attach_fds = ctx->attaches.Take(rec->id);
  std::vector<int> fds;
  for (const auto& fd : attach_fds) fds.push_back(fd.get());
  base::Status st;
  bool started = false;
  if (premount && premount->prelaunched) {
    st = premount->prelaunched.Start(fds);
    started = bool(st);
    // Unavailable: the shim failed before the container was ready, or had stopped waiting, and
    // removed what it had made; the usual start runs it (or meets the same error).
    if (!st && st.error().code() == base::ErrorCode::kUnavailable) {
      base::LogDebug("prelaunch {}: {}", rec->id, st.error().message());
      st = {};
    }
  }
  if (st && !started) {
    // The previous run's shim may still be removing the cgroups and runtime state it shares
    // the container's id with (it writes exit.json first).
    WaitForShimExit(OpenRunningShim(p), std::chrono::seconds(5));
    // The previous run's exit.json and sockets must not make the new run look finished.
    (void)sys::RemoveAll(p.state);
    if (auto made = sys::MkdirAll(p.state, 0700); !made) return Response::FromError(made.error());
    if (!premount || !premount->mounted) st = MountRootfs(ctx, rec->id, p.rootfs, rec->auto_remove);
    if (st) st = MakeWorkingDir(p.rootfs, rec->working_dir);
    if (st) st = SpawnShim(ctx, *rec, p, fds);
  }
  if (!st) {
    UnmountRootfs(p.rootfs);
    rec->state.error = st.error().message();
    (void)ctx->containers->Update(*rec);
    // As dockerd: --rm also covers a start that failed (`docker run --rm` waits for removal).
    if (spec::ParseCreateRequest(rec->request)
            .value_or(spec::CreateRequest{})
            .host_config.auto_remove) {
      if (auto rm = RemoveContainer(ctx, *rec); !rm)
        base::LogWarn("auto-remove {}: {}", rec->id, rm.error().message());
    }
    return Response::FromError(st.error());
  }
  rec->state = ContainerState{};
  rec->state.status = "running";
  rec->state.pid = ReadInitPid(p, rec->id);
  rec->state.started_at = base::NowRfc3339Nano();
  rec->manually_stopped = false;
  if (auto st = ctx->containers->Update(*rec); !st) return Response::FromError(st.error());
  PublishContainerEvent(ctx, *rec, "start");
  // After the record says running: an exit the monitor sees must find it so.
  if (ctx->monitor) ctx->monitor->Watch(rec->id);
  DetachRootfsSoon(ctx, p.rootfs);
  return Response::Text(204, "");
}

std::string HumanDuration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = seconds / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", hours / 24 / 365);
}

std::string DefaultShimPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "berth-shim";
  std::string exe(buf, size_t(n));
  return exe.substr(0, exe.rfind('/') + 1) + "berth-shim";
}

void AddContainerRoutes(Router& router, ContainerContext* ctx) {
  // Fixed paths ("/containers/prune") before the "{id}" ones.
  AddManageRoutes(router, ctx);
  AddObserveRoutes(router, ctx);
  AddAttachRoutes(router, ctx);
  AddExecRoutes(router, ctx);
  router.Add("POST", "/containers/create", [ctx](Request& req) { return Create(ctx, req); });
  router.Add("GET", "/containers/json",
             [ctx](Request& req) -> base::Result<Response> { return List(ctx, Query(req.query)); });
  router.Add("GET", "/containers/{id}/json", [ctx](Request& req) -> base::Result<Response> {
    ContainerRecord rec = TRY(FindFresh(ctx, req.params["id"]));
    return Response::Json(200, InspectJson(ctx, rec).dump());
  });
  router.Add("POST", "/containers/{id}/start", [ctx](Request& req) -> base::Result<Response> {
    // Deferred: the shim's start-up (runtime create + start) blocks for a while.
    return Response::Deferred([ctx, id = req.params["id"]] { return StartContainer(ctx, id); });
  });
  router.Add("POST", "/containers/{id}/wait", [ctx](Request& req) -> base::Result<Response> {
    return Wait(ctx, req.params["id"], Query(req.query));
  });
  router.Add("POST", "/containers/{id}/kill", [ctx](Request& req) -> base::Result<Response> {
    return Kill(ctx, req.params["id"], Query(req.query));
  });
  router.Add("POST", "/containers/{id}/stop", [ctx](Request& req) -> base::Result<Response> {
    return Stop(ctx, req.params["id"], Query(req.query));
  });
  router.Add("DELETE", "/containers/{id}", [ctx](Request& req) -> base::Result<Response> {
    return Remove(ctx, req.params["id"], Query(req.query));
  });
}

}  // namespace berth::daemon
