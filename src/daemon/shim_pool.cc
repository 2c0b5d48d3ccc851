// The standby shim: spawning it, handing it a container, replacing it.
#include "daemon/shim_pool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "base/log.h"
#include "base/strings.h"
#include "shim/standby.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::daemon {

using base::Error;
using base::Fail;

ShimPool::ShimPool(std::string exec_path, std::string argv0, std::string seccomp_hint)
    : exec_path_(std::move(exec_path)),
      argv0_(std::move(argv0)),
      seccomp_hint_(std::move(seccomp_hint)) {}

ShimPool::~ShimPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (hint_ready_) ::unlink(seccomp_hint_.c_str());
}

void ShimPool::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ShimPool::NoteSeccompProfile(const std::string& text) {
  if (seccomp_hint_.empty() || text.empty()) return;
  std::lock_guard<std::mutex> hint_lock(hint_mu_);
  if (text == hint_text_) return;
  // Replaced whole (a rename): a standby starting meanwhile reads the old text or the new one.
  if (auto st = sys::WriteFileReplace(seccomp_hint_, text, 0600); !st) {
    base::LogDebug("seccomp hint: {}", st.error().message());
    return;
  }
  hint_text_ = text;
  std::lock_guard<std::mutex> lock(mu_);
  hint_ready_ = true;
}

sys::UniqueFd ShimPool::Take() {
  sys::UniqueFd sock;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sock = std::move(standby_);
    last_take_ = std::chrono::steady_clock::now();
  }
  wake_.notify_all();
  return sock;
}

void ShimPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (standby_) {
      wake_.wait(lock, [&] { return stop_ || !standby_; });
      continue;
    }
    // Not while the start that took the last one is under way: a new shim's exec and forks
    // would compete with that container's setup (and its exit, for a short one) for the CPUs.
    // A burst of starts keeps pushing this back; its starts spawn their own shims meanwhile.
    auto quiet_until = last_take_ + kRefillDelay;
    if (std::chrono::steady_clock::now() < quiet_until) {
      wake_.wait_until(lock, quiet_until, [&] { return stop_; });
      continue;
    }
    lock.unlock();
    auto sock = Spawn();
    lock.lock();
    if (sock) {
      standby_ = std::move(*sock);
    } else {
      base::LogWarn("standby shim: {}", sock.error().message());
      // Starts go on spawning their own shims; retry later rather than spin.
      wake_.wait_for(lock, std::chrono::seconds(5), [&] { return stop_; });
    }
  }
}

base::Result<sys::UniqueFd> ShimPool::Spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Fail(Error::FromErrno(errno, "socketpair"));
  sys::UniqueFd ours(sv[0]), theirs(sv[1]);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe2"));
  sys::UniqueFd rd(p[0]), wr(p[1]);
  // SpawnProcessAt puts extra fds at 3, 4, ...: the socket must not already sit in that range.
  sys::UniqueFd high(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 10));
  if (!high) return Fail(Error::FromErrno(errno, "fcntl F_DUPFD"));
  theirs = sys::UniqueFd();
  std::vector<std::string> argv = {argv0_, "--standby"};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (hint_ready_) argv.insert(argv.end(), {"--seccomp-hint", seccomp_hint_});
  }
  pid_t pid = TRY(sys::SpawnProcessAt(exec_path_, argv, wr.get(), wr.get(), {high.get()}));
  high = sys::UniqueFd();
  wr = sys::UniqueFd();
  std::string out = sys::ReadFd(rd.get()).value_or("");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Fail(Error::Internal(
        fmt::format("berth-shim --standby failed (status {}): {}", status, base::Trim(out))));
  return ours;
}

base::Status ShimPool::HandOver(int sock, const std::vector<std::string>& args,
                                const std::vector<int>& attach_fds) {
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (auto sent = sys::SendFds(sock, shim::EncodeAssignment(rest), attach_fds); !sent)
    return Fail(Error::Unavailable("standby shim gone: " + sent.error().message()));
  auto reply = sys::RecvFds(sock, 64 * 1024, 0);
  if (!reply) return Fail(Error::Internal("berth-shim: " + reply.error().message()));
  if (reply->payload == "ok\n") return {};
  std::string msg(base::Trim(reply->payload));
  if (msg.empty()) msg = "the shim exited during setup";
  return Fail(Error::Internal(msg));
}

base::Result<PrelaunchedShim> ShimPool::Prelaunch(sys::UniqueFd sock,
                                                  const std::vector<std::string>& args) {
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (auto sent = sys::SendFds(sock.get(), shim::EncodeAssignment(rest), {}); !sent)
    return Fail(Error::Unavailable("standby shim gone: " + sent.error().message()));
  return PrelaunchedShim(std::move(sock));
}

base::Status PrelaunchedShim::Send(std::string_view record) {
  if (!sock_) return Fail(Error::Unavailable("no prelaunched shim"));
  if (auto sent = sys::SendFds(sock_.get(), std::string(record), {}); !sent) {
    sock_.Reset();
    return Fail(Error::Unavailable("prelaunched shim gone: " + sent.error().message()));
  }
  return {};
}

base::Status PrelaunchedShim::Start(const std::vector<int>& attach_fds) {
  if (!sock_) return Fail(Error::Unavailable("no prelaunched shim"));
  sys::UniqueFd sock = std::move(sock_);
  // Sent at once, ready or not: the init finds it there when it is, and execs.
  if (auto sent = sys::SendFds(sock.get(), std::string(shim::kStartRecord), attach_fds); !sent)
    return Fail(Error::Unavailable("prelaunched shim gone: " + sent.error().message()));
  auto ready = sys::RecvFds(sock.get(), 64 * 1024, 0);
  if (!ready) return Fail(Error::Unavailable("berth-shim: " + ready.error().message()));
  if (ready->payload != "ready\n") {
    // It failed before the container was ready (an error the usual start meets again), or had
    // given up waiting; either way it removed what it had made.
    std::string msg(base::Trim(ready->payload));
    return Fail(Error::Unavailable(msg.empty() ? "the prelaunched shim had given up" : msg));
  }
  auto reply = sys::RecvFds(sock.get(), 64 * 1024, 0);
  if (!reply) return Fail(Error::Internal("berth-shim: " + reply.error().message()));
  if (reply->payload == "ok\n") return {};
  // EOF without a report: the shim gave up waiting (its only silent end) just as the record
  // came, and the container never ran; "ready" was an earlier record.
  if (reply->payload.empty() && reply->fds.empty())
    return Fail(Error::Unavailable("the prelaunched shim had given up"));
  return Fail(Error::Internal(std::string(base::Trim(reply->payload))));
}

void PrelaunchedShim::Cancel() {
  if (!sock_) return;
  sys::UniqueFd sock = std::move(sock_);
  // EOF for the shim, which removes the container and exits: its end closes last.
  (void)::shutdown(sock.get(), SHUT_WR);
  auto deadline = std::chrono::steady_clock::now() + kCancelWait;
  char buf[512];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      base::LogWarn("prelaunched shim: not gone after {} s", kCancelWait.count());
      return;
    }
    struct pollfd p = {sock.get(), POLLIN, 0};
    int n = ::poll(&p, 1, int(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t r = ::recv(sock.get(), buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return;
  }
}

}  // namespace berth::daemon
