// runc-compatible CLI over berth::runtime::Runtime.
#include "runtime_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "base/log.h"
#include "base/strings.h"
#include "oci/runtime_config.h"
#include "runtime/container.h"
#include "runtime/linux/exe_seal.h"
#include "runtime_entry.h"
#include "sys/file.h"
#include "sys/process.h"

namespace berth::cmd {
namespace {

using base::Result;
using runtime::Runtime;

constexpr const char* kVersion = "0.1.0";

int Report(const base::Error& e, int code = 1) {
  // The containerd shim reports the last "error" line of the JSON log to the user; podman and
  // humans read stderr. Write both.
  base::LogError("{}", e.message());
  if (base::GetLogConfig().fd != 2 || base::GetLogConfig().json)
    std::fprintf(stderr, "berth-runtime: %s\n", e.message().c_str());
  return code;
}

// "512m", "1g", "1024" -> bytes; -1 stays -1.
Result<int64_t> ParseSize(const std::string& s) {
  if (s == "-1") return -1;
  std::string num = s;
  int64_t mult = 1;
  char last = s.empty() ? '\0' : static_cast<char>(std::tolower(s.back()));
  if (last == 'b') {
    num.pop_back();
    last = num.empty() ? '\0' : static_cast<char>(std::tolower(num.back()));
  }
  if (last == 'k' || last == 'm' || last == 'g' || last == 't') {
    mult = last == 'k' ? 1LL << 10 : last == 'm' ? 1LL << 20 : last == 'g' ? 1LL << 30 : 1LL << 40;
    num.pop_back();
  }
  auto v = base::ParseInt(num);
  if (!v || *v < 0)
    return base::Fail(base::Error::InvalidArgument(fmt::format("invalid size \"{}\"", s)));
  return *v * mult;
}

std::string TableTime(const std::string& rfc) { return rfc; }

// Commands whose init execs inside a container run from a read-only view of this binary
// (runtime/linux/exe_seal.h): unless the executable already lies on a read-only mount, the
// process re-executes once through a detached read-only bind mount of itself. Done from a
// constructor that runs before the C++ static initialisation (priority 101; glibc passes argc,
// argv and envp to init_array functions), so the first image does as little as possible.
int g_seal_errno = 0;
const char* g_seal_step = "";

// On x86_64 the ELF entry point (runtime_entry.cc) has usually re-executed already, before
// the C library started; this is the portable path, and the one that reports why a view could
// not be made.
__attribute__((constructor(101))) void SealBeforeStaticInit(int argc, char** argv, char**) {
  if (BerthRuntimeCommandSeals(BerthRuntimeCommandWord(argc, argv)))
    g_seal_errno = runtime::linux::ReexecFromReadOnlyExe(argv, &g_seal_step);
}

// The command word when it names a subcommand, else "". Only that subcommand is registered:
// building all fourteen with their options is ~a third of the CLI's start-up allocations, and
// every `run` pays it. No word, or an unknown one, registers them all, so CLI11 reports it as
// before.
std::string CommandWord(int argc, char** argv) {
  static const std::set<std::string_view> kCommands = {
      "create", "run",  "start", "state", "kill",   "delete", "pause",
      "resume", "list", "ps",    "exec",  "update", "spec",   "features"};
  const char* word = BerthRuntimeCommandWord(argc, argv);
  return word && kCommands.count(word) ? std::string(word) : std::string();
}

}  // namespace

int RuntimeMain(int argc, char** argv) {
  CLI::App app{"berth-runtime: an OCI container runtime (runc-compatible command line)",
               "berth-runtime"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", fmt::format("berth-runtime version {}\nspec: {}", kVersion,
                                                   oci::kOciVersion));
  std::string root, log_path, log_format = "text", criu;
  bool debug = false, systemd_cgroup = false;
  std::string rootless;
  app.add_option("--root", root, "state directory");
  app.add_option("--log", log_path, "log file");
  app.add_option("--log-format", log_format, "text or json");
  app.add_flag("--debug", debug);
  app.add_flag("--systemd-cgroup", systemd_cgroup);
  app.add_option("--rootless", rootless);
  app.add_option("--criu", criu);
  const std::string word = CommandWord(argc, argv);
  auto sub = [&](const char* name, const char* what) -> CLI::App* {
    return word.empty() || word == name ? app.add_subcommand(name, what) : nullptr;
  };

  runtime::CreateOptions copts;
  bool no_new_keyring = false, detach = false, keep = false, no_subreaper = false;
  auto add_create_flags = [&](CLI::App* c) {
    c->add_option("-b,--bundle", copts.bundle);
    c->add_option("--console-socket", copts.console_socket);
    c->add_option("--pid-file", copts.pid_file);
    c->add_flag("--no-pivot", copts.no_pivot);
    c->add_flag("--no-new-keyring", no_new_keyring);
    c->add_option("--preserve-fds", copts.preserve_fds);
    c->add_option("id", copts.id)->required();
  };
  auto* create = sub("create", "create a container");
  if (create) add_create_flags(create);
  auto* run = sub("run", "create and run a container");
  if (run) {
    add_create_flags(run);
    run->add_flag("-d,--detach", detach);
    run->add_flag("--keep", keep);
    run->add_flag("--no-subreaper", no_subreaper);
  }

  std::string id;
  auto* start = sub("start", "start a created container");
  if (start) start->add_option("id", id)->required();
  auto* state = sub("state", "print a container's state");
  if (state) state->add_option("id", id)->required();
  std::string signal = "SIGTERM";
  bool all = false;
  auto* kill = sub("kill", "send a signal to a container");
  if (kill) {
    kill->add_flag("-a,--all", all);
    kill->add_option("id", id)->required();
    kill->add_option("signal", signal);
  }
  bool force = false;
  auto* del = sub("delete", "delete a container");
  if (del) {
    del->add_flag("-f,--force", force);
    del->add_option("id", id)->required();
  }
  auto* pause = sub("pause", "freeze a container");
  if (pause) pause->add_option("id", id)->required();
  auto* resume = sub("resume", "thaw a container");
  if (resume) resume->add_option("id", id)->required();
  std::string format = "table";
  bool quiet = false;
  auto* list = sub("list", "list containers");
  if (list) {
    list->add_option("-f,--format", format);
    list->add_flag("-q,--quiet", quiet);
  }
  auto* ps = sub("ps", "list a container's processes");
  if (ps) {
    ps->add_option("-f,--format", format);
    ps->prefix_command();
  }

  // exec
  std::string e_cwd, e_user, e_process, e_pid_file, e_console, e_label, e_apparmor, e_cgroup;
  std::vector<std::string> e_env, e_caps, e_gids;
  bool e_tty = false, e_detach = false, e_nnp = false, e_ignore_paused = false;
  int e_preserve = 0;
  auto* exec = sub("exec", "run a process in a running container");
  if (exec) {
    exec->add_option("--cwd", e_cwd);
    exec->add_option("-e,--env", e_env)->allow_extra_args(false);
    exec->add_flag("-t,--tty", e_tty);
    exec->add_option("-u,--user", e_user);
    exec->add_option("-g,--additional-gids", e_gids)->allow_extra_args(false);
    exec->add_option("-p,--process", e_process);
    exec->add_flag("-d,--detach", e_detach);
    exec->add_option("--pid-file", e_pid_file);
    exec->add_option("--console-socket", e_console);
    exec->add_option("--process-label", e_label);
    exec->add_option("--apparmor", e_apparmor);
    exec->add_flag("--no-new-privs", e_nnp);
    exec->add_option("-c,--cap", e_caps)->allow_extra_args(false);
    exec->add_option("--preserve-fds", e_preserve);
    exec->add_option("--cgroup", e_cgroup);
    exec->add_flag("--ignore-paused", e_ignore_paused);
    exec->prefix_command();
  }

  // update
  std::string u_resources, u_memory, u_mem_res, u_mem_swap, u_cpuset_cpus, u_cpuset_mems;
  std::optional<int64_t> u_cpu_quota, u_pids;
  std::optional<uint64_t> u_cpu_shares, u_cpu_period;
  std::optional<uint16_t> u_blkio;
  auto* update = sub("update", "update a container's resource limits");
  if (update) {
    update->add_option("-r,--resources", u_resources);
    update->add_option("--memory", u_memory);
    update->add_option("--memory-reservation", u_mem_res);
    update->add_option("--memory-swap", u_mem_swap);
    update->add_option("--cpu-shares", u_cpu_shares);
    update->add_option("--cpu-period", u_cpu_period);
    update->add_option("--cpu-quota", u_cpu_quota);
    update->add_option("--cpuset-cpus", u_cpuset_cpus);
    update->add_option("--cpuset-mems", u_cpuset_mems);
    update->add_option("--pids-limit", u_pids);
    update->add_option("--blkio-weight", u_blkio);
    update->add_option("id", id)->required();
  }

  std::string spec_bundle = ".";
  bool spec_rootless = false;
  auto* spec = sub("spec", "write a default config.json");
  if (spec) {
    spec->add_option("-b,--bundle", spec_bundle);
    spec->add_flag("--rootless", spec_rootless);
  }
  auto* features = sub("features", "print the runtime's features as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  base::LogConfig lc;
  lc.min_level = debug ? base::LogLevel::kDebug : base::LogLevel::kWarn;
  lc.json = log_format == "json";
  if (!log_path.empty()) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) lc.fd = fd;
  }
  base::SetLogConfig(lc);
  if (g_seal_errno != 0)
    base::LogWarn("running from a writable executable (CVE-2019-5736 guard unavailable): {}: {}",
                  g_seal_step, std::strerror(g_seal_errno));

  runtime::RuntimeOptions ropts;
  ropts.root = root;
  ropts.systemd_cgroup = systemd_cgroup;
  Runtime rt(ropts);

  if (create && *create) {
    auto st = rt.Create(copts);
    return st ? 0 : Report(st.error());
  }
  if (run && *run) {
    auto code = rt.Run(copts, detach, keep);
    return code ? *code : Report(code.error());
  }
  if (start && *start) {
    auto st = rt.Start(id);
    return st ? 0 : Report(st.error());
  }
  if (state && *state) {
    auto s = rt.State(id);
    if (!s) return Report(s.error());
    std::printf("%s\n", oci::SerializeState(*s).c_str());
    return 0;
  }
  if (kill && *kill) {
    auto sig = sys::ParseSignal(signal);
    if (!sig) return Report(sig.error());
    auto st = rt.Kill(id, *sig, all);
    return st ? 0 : Report(st.error());
  }
  if (del && *del) {
    auto st = rt.Delete(id, force);
    // Deleting what is not there succeeds with --force, like runc.
    if (!st && force && st.error().code() == base::ErrorCode::kNotFound) return 0;
    return st ? 0 : Report(st.error());
  }
  if (pause && *pause) {
    auto st = rt.Pause(id);
    return st ? 0 : Report(st.error());
  }
  if (resume && *resume) {
    auto st = rt.Resume(id);
    return st ? 0 : Report(st.error());
  }
  if (list && *list) {
    auto states = rt.List();
    if (!states) return Report(states.error());
    if (quiet) {
      for (auto& s : *states) std::printf("%s\n", s.id.c_str());
      return 0;
    }
    if (format == "json") {
      nlohmann::json arr = nlohmann::json::array();
      for (auto& s : *states) {
        auto j = nlohmann::json::parse(oci::SerializeState(s), nullptr, false);
        arr.push_back(j);
      }
      std::printf("%s\n", arr.dump().c_str());
      return 0;
    }
    std::printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                "OWNER");
    for (auto& s : *states)
      std::printf("%-12s %-10d %-10s %-40s %-30s %s\n", s.id.c_str(), s.pid, s.status.c_str(),
                  s.bundle.c_str(), TableTime(s.created).c_str(), s.owner.c_str());
    return 0;
  }
  if (ps && *ps) {
    auto rest = ps->remaining();
    if (rest.empty()) return Report(base::Error::InvalidArgument("ps: container id required"));
    auto pids = rt.Ps(rest[0]);
    if (!pids) return Report(pids.error());
    if (format == "json") {
      nlohmann::json arr = *pids;
      std::printf("%s\n", arr.dump().c_str());
      return 0;
    }
    // Table: the host's ps output filtered to the container's pids, like runc.
    std::string cmd = "ps";
    for (size_t i = 1; i < rest.size(); ++i) cmd += " '" + rest[i] + "'";
    if (rest.size() == 1) cmd += " -ef";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return Report(base::Error::FromErrno(errno, "run ps"));
    char line[4096];
    bool header = true;
    int pid_col = -1;
    while (std::fgets(line, sizeof line, p)) {
      auto cols = base::SplitNonEmpty(base::Trim(line), ' ');
      if (header) {
        for (size_t i = 0; i < cols.size(); ++i)
          if (cols[i] == "PID") pid_col = static_cast<int>(i);
        std::fputs(line, stdout);
        header = false;
        continue;
      }
      if (pid_col < 0 || static_cast<size_t>(pid_col) >= cols.size()) continue;
      auto v = base::ParseInt(cols[pid_col]);
      for (pid_t q : *pids)
        if (v && *v == q) std::fputs(line, stdout);
    }
    ::pclose(p);
    return 0;
  }
  if (exec && *exec) {
    auto rest = exec->remaining();
    if (rest.empty())
      return Report(base::Error::InvalidArgument("exec: container id required"), 255);
    runtime::ExecOptions eo;
    eo.id = rest[0];
    eo.detach = e_detach;
    eo.pid_file = e_pid_file;
    eo.console_socket = e_console;
    eo.preserve_fds = e_preserve;
    if (!e_process.empty()) {
      auto text = sys::ReadFile(e_process);
      if (!text) return Report(text.error(), 255);
      auto p = oci::ParseProcess(*text);
      if (!p) return Report(p.error().Context("process.json"), 255);
      eo.process = *p;
    } else {
      auto base_proc = rt.BaseExecProcess(eo.id);
      if (!base_proc) return Report(base_proc.error(), 255);
      eo.process = *base_proc;
      eo.process.args.assign(rest.begin() + 1, rest.end());
      eo.process.terminal = e_tty;
      if (!e_cwd.empty()) eo.process.cwd = e_cwd;
      for (auto& kv : e_env) {
        std::string key = kv.substr(0, kv.find('='));
        std::erase_if(eo.process.env,
                      [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
        eo.process.env.push_back(kv);
      }
      if (!e_user.empty()) {
        auto parts = base::Split(e_user, ':');
        auto uid = base::ParseUint(parts[0]);
        if (!uid) return Report(base::Error::InvalidArgument("invalid --user " + e_user), 255);
        eo.process.user.uid = static_cast<uint32_t>(*uid);
        eo.process.user.gid = 0;
        if (parts.size() > 1) {
          auto gid = base::ParseUint(parts[1]);
          if (!gid) return Report(base::Error::InvalidArgument("invalid --user " + e_user), 255);
          eo.process.user.gid = static_cast<uint32_t>(*gid);
        }
        eo.process.user.additional_gids.clear();
      }
      for (auto& g : e_gids) {
        auto gid = base::ParseUint(g);
        if (!gid)
          return Report(base::Error::InvalidArgument("invalid --additional-gids " + g), 255);
        eo.process.user.additional_gids.push_back(static_cast<uint32_t>(*gid));
      }
      if (e_nnp) eo.process.no_new_privileges = true;
      if (!e_caps.empty()) {
        if (!eo.process.capabilities) eo.process.capabilities = oci::Capabilities{};
        for (auto& c : e_caps)
          for (auto* set : {&eo.process.capabilities->bounding, &eo.process.capabilities->effective,
                            &eo.process.capabilities->permitted})
            set->push_back(c);
      }
    }
    auto code = rt.Exec(eo);
    return code ? *code : Report(code.error(), 255);
  }
  if (update && *update) {
    oci::Resources r;
    if (!u_resources.empty()) {
      auto text = u_resources == "-" ? sys::ReadFd(0) : sys::ReadFile(u_resources);
      if (!text) return Report(text.error());
      auto parsed = oci::ParseResources(*text);
      if (!parsed) return Report(parsed.error());
      r = *parsed;
    }
    auto mem = [&](const std::string& s, auto setter) -> base::Status {
      if (s.empty()) return {};
      auto v = TRY(ParseSize(s));
      if (!r.memory) r.memory = oci::MemoryResources{};
      setter(v);
      return {};
    };
    for (auto st : {mem(u_memory, [&](int64_t v) { r.memory->limit = v; }),
                    mem(u_mem_res, [&](int64_t v) { r.memory->reservation = v; }),
                    mem(u_mem_swap, [&](int64_t v) { r.memory->swap = v; })})
      if (!st) return Report(st.error());
    if (u_cpu_shares || u_cpu_period || u_cpu_quota || !u_cpuset_cpus.empty() ||
        !u_cpuset_mems.empty()) {
      if (!r.cpu) r.cpu = oci::CpuResources{};
      if (u_cpu_shares) r.cpu->shares = u_cpu_shares;
      if (u_cpu_period) r.cpu->period = u_cpu_period;
      if (u_cpu_quota) r.cpu->quota = u_cpu_quota;
      if (!u_cpuset_cpus.empty()) r.cpu->cpus = u_cpuset_cpus;
      if (!u_cpuset_mems.empty()) r.cpu->mems = u_cpuset_mems;
    }
    if (u_pids) r.pids = oci::PidsResources{*u_pids};
    if (u_blkio) {
      if (!r.block_io) r.block_io = oci::BlockIoResources{};
      r.block_io->weight = u_blkio;
    }
    auto st = rt.Update(id, r);
    return st ? 0 : Report(st.error());
  }
  if (spec && *spec) {
    std::string path = spec_bundle + "/config.json";
    if (sys::Exists(path))
      return Report(base::Error::AlreadyExists("File config.json exists. Remove it first."));
    auto st = sys::WriteFileAtomic(path, oci::SerializeSpec(oci::DefaultSpec(spec_rootless)) + "\n",
                                   0666 & ~0022);
    return st ? 0 : Report(st.error());
  }
  if (features && *features) {
    std::printf("%s\n", oci::FeaturesJson().c_str());
    return 0;
  }
  return 1;
}

}  // namespace berth::cmd
