// Hook execution: fork + execve with a pipe for stdin and one for output, pidfd for the timeout.
#include "runtime/hooks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/socket.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

base::Status RunHook(const oci::Hook& hook, const std::string& name, const std::string& state) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Fail(Error::FromErrno(errno, "pipe"));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Fail(Error::FromErrno(errno, "pipe"));
  }
  sys::UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Fail(Error::FromErrno(errno, "fork hook"));
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  in_r.Reset();
  out_w.Reset();
  // A hook that does not read its stdin must not block us: ignore EPIPE.
  signal(SIGPIPE, SIG_IGN);
  (void)sys::WriteAll(in_w.get(), state);
  in_w.Reset();
  std::string output;
  auto pidfd = sys::PidfdOpen(pid);
  int64_t deadline = hook.timeout ? NowMs() + *hook.timeout * 1000LL : -1;
  bool timed_out = false;
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  while (true) {
    struct pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {pidfd ? pidfd->get() : -1, POLLIN, 0}};
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (fds[0].revents) {
      char buf[4096];
      ssize_t r = ::read(out_r.get(), buf, sizeof buf);
      if (r > 0 && output.size() < 65536) output.append(buf, static_cast<size_t>(r));
      if (r == 0) out_r.Reset();
    }
    if (fds[1].revents || !out_r) break;
  }
  int status = TRY(sys::WaitPid(pid));
  if (timed_out)
    return Fail(Error::Internal(
        fmt::format("{} ({}): timed out after {}s", name, hook.path, *hook.timeout)));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                      : fmt::format("signal {}", WTERMSIG(status));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && output.empty())
    how = "could not execute (exit status 127)";
  return Fail(Error::Internal(
      fmt::format("{} ({}): {}{}{}", name, hook.path, how, output.empty() ? "" : ": ", output)));
}

}  // namespace

base::Status RunHooks(const std::vector<oci::Hook>& hooks, const std::string& phase,
                      const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    TRY(RunHook(hooks[i], fmt::format("error running {} hook #{}", phase, i), state_json));
  return {};
}

base::Status SendSeccompListener(const std::string& listener_path, const std::string& metadata,
                                 int listener_fd, int pid, const std::string& state_json) {
  std::string msg = fmt::format(
      "{{\"ociVersion\":\"{}\",\"fds\":[\"seccompFd\"],\"pid\":{},\"metadata\":\"{}\","
      "\"state\":{}}}",
      oci::kOciVersion, pid, base::JsonEscape(metadata), state_json);
  auto sock = TRY_CTX(sys::ConnectUnix(listener_path), "seccomp listenerPath");
  return sys::SendFd(sock.get(), listener_fd, msg);
}

}  // namespace berth::runtime
