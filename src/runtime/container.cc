// start, state, kill, delete, pause/resume, update, ps, list: operations on a recorded container.
#include "runtime/container.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/hooks.h"
#include "sys/file.h"
#include "sys/process.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

namespace {

base::Result<std::unique_ptr<cgroup::Manager>> ManagerFor(const ContainerRecord& rec) {
  if (rec.cgroup_paths.empty()) return Fail(Error::NotFound("container has no cgroup"));
  auto layout = TRY(cgroup::DetectHostLayout());
  return cgroup::LoadManager(layout, rec.cgroup_paths);
}

void SleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

}  // namespace

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)),
      store_(options_.root.empty() ? DefaultStateRoot() : options_.root) {}

base::Status Runtime::Start(const std::string& id) {
  auto rec = TRY(store_.Load(id));
  std::string status = ContainerStatus(store_, rec);
  if (status == "stopped")
    return Fail(Error::Conflict("cannot start a container that has stopped"));
  if (status != "created")
    return Fail(Error::Conflict(fmt::format("cannot start an already {} container", status)));
  std::string fifo_path = store_.FifoPath(id);
  int fd = ::open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENXIO) return Fail(Error::Conflict("cannot start a container that has stopped"));
    return Fail(Error::FromErrno(errno, "open exec fifo"));
  }
  ssize_t unused = ::write(fd, "0", 1);
  (void)unused;
  ::close(fd);
  ::unlink(fifo_path.c_str());
  auto spec = store_.LoadConfig(id);
  if (spec && spec->hooks && !spec->hooks->poststart.empty()) {
    oci::State s = ToOciState(rec, "running");
    auto st = RunHooks(spec->hooks->poststart, "poststart", oci::SerializeState(s));
    if (!st) {
      ::kill(rec.pid, SIGKILL);
      return Fail(std::move(st).error());
    }
  }
  return {};
}

base::Result<oci::State> Runtime::State(const std::string& id) {
  auto rec = TRY(store_.Load(id));
  return ToOciState(rec, ContainerStatus(store_, rec));
}

base::Status Runtime::Kill(const std::string& id, int signal, bool all) {
  auto rec = TRY(store_.Load(id));
  std::string status = ContainerStatus(store_, rec);
  if (status == "stopped") return Fail(Error::Conflict("container not running"));
  if (all) {
    auto mgr = ManagerFor(rec);
    if (mgr) return (*mgr)->KillAll(signal);
  }
  if (::kill(rec.pid, signal) != 0) {
    if (errno == ESRCH) return Fail(Error::Conflict("container not running"));
    return Fail(Error::FromErrno(errno, fmt::format("kill {}", rec.pid)));
  }
  return {};
}

base::Status Runtime::Destroy(const ContainerRecord& rec, const oci::Spec* spec) {
  auto mgr = ManagerFor(rec);
  if (sys::ProcessAlive(rec.pid, rec.start_time)) {
    if (mgr) {
      (void)(*mgr)->Thaw();
      (void)(*mgr)->KillAll(SIGKILL);
    }
    ::kill(rec.pid, SIGKILL);
  }
  // The init's parent (caller or subreaper) reaps it; wait until it is gone or a zombie.
  for (int i = 0; i < 500 && sys::ProcessAlive(rec.pid, rec.start_time); ++i) SleepMs(10);
  if (mgr) TRY_CTX((*mgr)->Destroy(), "remove cgroup");
  if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
    auto st = RunHooks(spec->hooks->poststop, "poststop",
                       oci::SerializeState(ToOciState(rec, "stopped")));
    if (!st) base::LogWarn("{}", st.error().message());
  }
  return store_.Remove(rec.id);
}

base::Status Runtime::Delete(const std::string& id, bool force, bool poststop) {
  auto rec = TRY(store_.Load(id));
  std::string status = ContainerStatus(store_, rec);
  if ((status == "running" || status == "paused") && !force)
    return Fail(Error::Conflict(
        fmt::format("cannot delete container {} that is not stopped: {}", id, status)));
  if (!poststop) return Destroy(rec, nullptr);
  auto spec = store_.LoadConfig(id);
  return Destroy(rec, spec ? &*spec : nullptr);
}

base::Status Runtime::Pause(const std::string& id) {
  auto rec = TRY(store_.Load(id));
  std::string status = ContainerStatus(store_, rec);
  if (status != "running" && status != "created")
    return Fail(Error::Conflict("container not running"));
  auto mgr = TRY(ManagerFor(rec));
  return mgr->Freeze();
}

base::Status Runtime::Resume(const std::string& id) {
  auto rec = TRY(store_.Load(id));
  if (ContainerStatus(store_, rec) != "paused")
    return Fail(Error::Conflict("container not paused"));
  auto mgr = TRY(ManagerFor(rec));
  return mgr->Thaw();
}

base::Status Runtime::Update(const std::string& id, const oci::Resources& resources) {
  auto rec = TRY(store_.Load(id));
  if (ContainerStatus(store_, rec) == "stopped")
    return Fail(Error::Conflict("container not running"));
  auto mgr = TRY(ManagerFor(rec));
  return mgr->Set(resources);
}

base::Result<std::vector<pid_t>> Runtime::Ps(const std::string& id) {
  auto rec = TRY(store_.Load(id));
  if (ContainerStatus(store_, rec) == "stopped") return std::vector<pid_t>{};
  auto mgr = TRY(ManagerFor(rec));
  return mgr->Pids();
}

base::Result<std::vector<oci::State>> Runtime::List() {
  std::vector<oci::State> out;
  for (auto& id : TRY(store_.List())) {
    auto rec = store_.Load(id);
    if (rec) out.push_back(ToOciState(*rec, ContainerStatus(store_, *rec)));
  }
  return out;
}

base::Result<oci::Process> Runtime::BaseExecProcess(const std::string& id) {
  TRY(store_.Load(id));
  auto spec = TRY(store_.LoadConfig(id));
  if (!spec.process) return oci::Process{};
  oci::Process p = *spec.process;
  p.terminal = false;
  p.args.clear();
  p.console_size.reset();
  return p;
}

}  // namespace berth::runtime
