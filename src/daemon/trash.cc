// Trash: see trash.h.
#include "daemon/trash.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "sys/file.h"

namespace berth::daemon {

using base::Error;
using base::Fail;

base::Result<std::unique_ptr<Trash>> Trash::Open(std::vector<std::string> dirs) {
  auto t = std::unique_ptr<Trash>(new Trash(std::move(dirs)));
  for (const auto& d : t->dirs_) {
    TRY_CTX(sys::MkdirAll(d, 0700), "open trash");
    for (const auto& name : TRY_CTX(sys::ListDir(d), "open trash"))
      t->queue_.push_back(d + "/" + name);
  }
  t->worker_ = std::thread([p = t.get()] { p->Run(); });
  return t;
}

Trash::~Trash() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

base::Status Trash::Discard(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  for (const auto& dir : dirs_) {
    std::string target;
    int rc;
    do {
      // A sequence number keeps names unique within this run; RENAME_NOREPLACE skips past any
      // that an earlier run left behind.
      uint64_t n;
      {
        std::lock_guard lock(mu_);
        n = ++seq_;
      }
      target = fmt::format("{}/{}-{}-{}", dir, ::getpid(), n, base);
      rc = ::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    } while (rc != 0 && errno == EEXIST);
    if (rc == 0) {
      {
        std::lock_guard lock(mu_);
        queue_.push_back(std::move(target));
      }
      wake_.notify_one();
      return {};
    }
    if (errno == ENOENT) return {};
    if (errno != EXDEV) break;  // EBUSY (a mount point), EACCES, ...: remove in place
  }
  return sys::RemoveAll(path);
}

void Trash::Drain() {
  std::unique_lock lock(mu_);
  drained_.wait(lock, [&] { return (queue_.empty() && !busy_) || stop_; });
}

void Trash::Run() {
  // Deleting is never urgent: the worker takes the CPU only when no other thread wants it and
  // the disk at idle priority (where the I/O scheduler honours classes), so that a container
  // starting meanwhile does not wait for the last one's unlinks.
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  (void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return !queue_.empty() || stop_; });
    if (stop_) break;
    std::string tree = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    if (auto st = sys::RemoveAll(tree); !st)
      base::LogWarn("trash: remove {}: {}", tree, st.error().message());
    lock.lock();
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
  drained_.notify_all();
}

}  // namespace berth::daemon
