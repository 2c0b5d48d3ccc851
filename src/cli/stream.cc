// Attach/exec stream plumbing; see stream.h.
#include "cli/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace berth::cli {
namespace {

// State the signal handlers need; plain globals because handlers cannot capture.
int g_signal_pipe[2] = {-1, -1};
int g_raw_fd = -1;
struct termios g_saved_termios;
struct sigaction g_old_fatal[4];
constexpr int kFatalSignals[4] = {SIGTERM, SIGHUP, SIGQUIT, SIGINT};

void OnSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  if (g_signal_pipe[1] >= 0) (void)!write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

// Restores the terminal before the signal's default action ends the process: a shell left in raw
// mode shows no echo and no line editing.
void RestoreAndReraise(int sig) {
  if (g_raw_fd >= 0) tcsetattr(g_raw_fd, TCSANOW, &g_saved_termios);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

base::Status WriteFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // Our stdout may be a non-blocking fd shared with another process; wait until writable.
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n < 0) return base::Fail(base::Error::FromErrno(errno, "write"));
    data.remove_prefix(size_t(n));
  }
  return {};
}

base::Status Demuxer::Feed(std::string_view data) {
  pending_.append(data);
  size_t pos = 0;
  while (pending_.size() - pos >= 8) {
    const auto* h = reinterpret_cast<const unsigned char*>(pending_.data() + pos);
    size_t len = (size_t(h[4]) << 24) | (size_t(h[5]) << 16) | (size_t(h[6]) << 8) | h[7];
    if (pending_.size() - pos < 8 + len) break;
    std::string_view payload(pending_.data() + pos + 8, len);
    switch (h[0]) {
      case 0:
      case 1:
        TRY(WriteFd(out_fd_, payload));
        break;
      case 2:
        TRY(WriteFd(err_fd_, payload));
        break;
      case 3:
        return base::Fail(base::Error::Internal(std::string(payload)));
      default:
        return base::Fail(base::Error::Internal("Unrecognized input header: " +
                                                std::to_string(static_cast<int>(h[0]))));
    }
    pos += 8 + len;
  }
  pending_.erase(0, pos);
  return {};
}

std::pair<int, int> TerminalSize(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return {0, 0};
  return {ws.ws_row, ws.ws_col};
}

std::unique_ptr<RawTerminal> RawTerminal::Enable(int fd) {
  if (!isatty(fd) || tcgetattr(fd, &g_saved_termios) != 0) return nullptr;
  struct termios raw = g_saved_termios;
  // moby/term MakeRaw: no input translation, no output post-processing, no echo, no signals
  // from keys (^C goes to the container's terminal), 8-bit characters.
  raw.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_oflag &= ~tcflag_t(OPOST);
  raw.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  raw.c_cflag &= ~tcflag_t(CSIZE | PARENB);
  raw.c_cflag |= CS8;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  g_raw_fd = fd;
  struct sigaction sa {};
  sa.sa_handler = RestoreAndReraise;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kFatalSignals); ++i)
    sigaction(kFatalSignals[i], &sa, &g_old_fatal[i]);
  if (tcsetattr(fd, TCSANOW, &raw) != 0) {
    for (size_t i = 0; i < std::size(kFatalSignals); ++i)
      sigaction(kFatalSignals[i], &g_old_fatal[i], nullptr);
    g_raw_fd = -1;
    return nullptr;
  }
  return std::unique_ptr<RawTerminal>(new RawTerminal());
}

RawTerminal::~RawTerminal() {
  if (g_raw_fd >= 0) tcsetattr(g_raw_fd, TCSANOW, &g_saved_termios);
  g_raw_fd = -1;
  for (size_t i = 0; i < std::size(kFatalSignals); ++i)
    sigaction(kFatalSignals[i], &g_old_fatal[i], nullptr);
}

SignalPipe::SignalPipe(const std::vector<int>& signals) {
  if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_signal_pipe[0] = g_signal_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : signals) {
    struct sigaction old {};
    if (sigaction(s, &sa, &old) == 0) old_.emplace_back(s, old);
  }
}

SignalPipe::~SignalPipe() {
  for (auto& [s, old] : old_) sigaction(s, &old, nullptr);
  for (int& fd : g_signal_pipe) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

int SignalPipe::fd() const { return g_signal_pipe[0]; }

int SignalPipe::Next() {
  unsigned char b;
  return g_signal_pipe[0] >= 0 && read(g_signal_pipe[0], &b, 1) == 1 ? b : 0;
}

base::Status PumpStream(client::Connection& conn, const StreamOptions& opts) {
  Demuxer demux(opts.out_fd, opts.err_fd);
  auto output = [&](std::string_view data) -> base::Status {
    if (opts.tty) return WriteFd(opts.out_fd, data);
    return demux.Feed(data);
  };
  bool stdin_open = opts.send_stdin;
  if (!stdin_open) conn.CloseWrite();
  if (!conn.buffered().empty()) {
    std::string first = std::move(conn.buffered());
    conn.buffered().clear();
    TRY(output(first));
  }
  std::unique_ptr<SignalPipe> sigs;
  if (!opts.signals.empty()) sigs = std::make_unique<SignalPipe>(opts.signals);

  std::string to_send;  // stdin read but not yet accepted by the socket
  char buf[32 << 10];
  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    short sock_events = POLLIN | (to_send.empty() ? 0 : POLLOUT);
    fds[n++] = {conn.fd(), sock_events, 0};
    int stdin_slot = -1, sig_slot = -1;
    // No more stdin is read while earlier stdin waits for the socket: back-pressure.
    if (stdin_open && to_send.empty()) {
      stdin_slot = int(n);
      fds[n++] = {opts.in_fd, POLLIN, 0};
    }
    if (sigs && sigs->fd() >= 0) {
      sig_slot = int(n);
      fds[n++] = {sigs->fd(), POLLIN, 0};
    }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return base::Fail(base::Error::FromErrno(errno, "poll"));
    }
    if (sig_slot >= 0 && (fds[sig_slot].revents & POLLIN)) {
      while (int s = sigs->Next())
        if (opts.on_signal) opts.on_signal(s);
    }
    if (stdin_slot >= 0 && (fds[stdin_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(opts.in_fd, buf, sizeof(buf));
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
        // try again on the next round
      } else if (r <= 0) {
        // EOF (or EIO from a terminal that went away): tell the daemon stdin is finished.
        stdin_open = false;
        conn.CloseWrite();
      } else {
        to_send.assign(buf, size_t(r));
      }
    }
    short rev = fds[0].revents;
    if (!to_send.empty() && (rev & POLLOUT || stdin_slot >= 0)) {
      ssize_t w = send(conn.fd(), to_send.data(), to_send.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        to_send.erase(0, size_t(w));
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        // The daemon no longer reads stdin (the process exited); output may still follow.
        to_send.clear();
        stdin_open = false;
      }
    }
    if (rev & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(conn.fd(), buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno != ECONNRESET)
        return base::Fail(base::Error::FromErrno(errno, "read from the daemon"));
      if (r <= 0) return {};
      TRY(output(std::string_view(buf, size_t(r))));
    }
  }
}

}  // namespace berth::cli
