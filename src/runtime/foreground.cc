// Foreground wait loop: signalfd + pidfd + pty proxy in one poll.
#include "runtime/foreground.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "sys/file.h"
#include "sys/process.h"

namespace berth::runtime {

using base::Error;
using base::Fail;

namespace {
sigset_t g_old_mask;

void CopyWinsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Returns false on EOF/EIO.
bool Pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  (void)sys::WriteAll(to, std::string_view(buf, static_cast<size_t>(n)));
  return true;
}
}  // namespace

sigset_t BlockForwardedSignals() {
  sigset_t set;
  sigfillset(&set);
  // Synchronous faults and stop signals stay ours.
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGKILL, SIGSTOP,
                SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE})
    sigdelset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &g_old_mask);
  return set;
}

void RestoreSignals() { ::sigprocmask(SIG_SETMASK, &g_old_mask, nullptr); }

base::Result<int> WaitForeground(pid_t pid, const sigset_t& signals, sys::UniqueFd pty_master) {
  sys::UniqueFd sfd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return Fail(Error::FromErrno(errno, "signalfd"));
  auto pidfd = TRY(sys::PidfdOpen(pid));
  bool tty_in = pty_master && ::isatty(0);
  struct termios saved;
  if (tty_in && ::tcgetattr(0, &saved) == 0) {
    struct termios raw = saved;
    ::cfmakeraw(&raw);
    ::tcsetattr(0, TCSANOW, &raw);
    CopyWinsize(0, pty_master.get());
  } else {
    tty_in = false;
  }
  bool stdin_open = static_cast<bool>(pty_master);
  bool exited = false;
  int status = 0;
  while (!exited) {
    struct pollfd fds[4] = {{sfd.get(), POLLIN, 0},
                            {pidfd.get(), POLLIN, 0},
                            {pty_master ? pty_master.get() : -1, POLLIN, 0},
                            {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(fds, 4, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        if (sig == SIGWINCH && pty_master) {
          CopyWinsize(0, pty_master.get());
          continue;
        }
        ::kill(pid, sig);
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!Pump(pty_master.get(), 1) && !(fds[2].revents & POLLIN)) pty_master.Reset();
    }
    if (fds[3].revents & (POLLIN | POLLHUP)) {
      if (!Pump(0, pty_master.get())) stdin_open = false;
    }
    if (fds[1].revents & POLLIN) {
      status = TRY(sys::WaitPid(pid));
      exited = true;
    }
  }
  if (pty_master) {
    // Drain what the container wrote before it exited.
    ::fcntl(pty_master.get(), F_SETFL, O_NONBLOCK);
    while (Pump(pty_master.get(), 1)) {
      struct pollfd p = {pty_master.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
    }
  }
  if (tty_in) ::tcsetattr(0, TCSANOW, &saved);
  return sys::ExitCodeFromWaitStatus(status);
}

}  // namespace berth::runtime
