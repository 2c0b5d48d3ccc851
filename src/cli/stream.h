// The client end of attach/exec streams: docker's 8-byte frame demultiplexer (stdcopy), raw
// terminal mode for -t, the terminal size, signal delivery into the streaming loop, and the loop
// itself (stdin -> socket with a half-close at EOF, socket -> stdout/stderr until the daemon
// closes). See §3 of docs on hijacked streams: output ends only when the daemon closes the
// connection; our half-close means "stdin finished", never "client gone".
#pragma once

#include <signal.h>
#include <termios.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "client/client.h"

namespace berth::cli {

// Splits a multiplexed stream ([type,0,0,0,len be32] + payload per write) into stdout (type 0
// and 1) and stderr (type 2) as bytes arrive, whatever the chunking. A type 3 frame (systemerr)
// ends the stream with its payload as the error message (kInternal). Write failures (a closed
// pipe) are errors too. Not thread-safe.
class Demuxer {
 public:
  Demuxer(int out_fd, int err_fd) : out_fd_(out_fd), err_fd_(err_fd) {}
  base::Status Feed(std::string_view data);

 private:
  int out_fd_, err_fd_;
  std::string pending_;
};

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
base::Status WriteFd(int fd, std::string_view data);

// {rows, columns} of the terminal on `fd`; {0, 0} when it is not one.
std::pair<int, int> TerminalSize(int fd);

// Puts a terminal in raw mode (docker's term.MakeRaw) for `run -t`/`exec -t` with a terminal
// stdin, and restores it when destroyed, and also when SIGTERM, SIGHUP, SIGQUIT or SIGINT would
// kill the process first (the handler restores, then re-raises with the default action). One
// instance at a time per process.
class RawTerminal {
 public:
  // nullptr when `fd` is not a terminal.
  static std::unique_ptr<RawTerminal> Enable(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  RawTerminal() = default;
};

// Delivers the given signals to a streaming loop through a self-pipe (the only async-signal-safe
// way to get them out of a handler), and restores the previous dispositions when destroyed. One
// instance at a time per process.
class SignalPipe {
 public:
  explicit SignalPipe(const std::vector<int>& signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  // Readable when a signal is pending.
  int fd() const;
  // The next pending signal, or 0 when none is.
  int Next();

 private:
  std::vector<std::pair<int, struct sigaction>> old_;
};

struct StreamOptions {
  bool tty = false;         // raw bytes (a pty merges stderr) instead of 8-byte frames
  bool send_stdin = false;  // copy in_fd to the socket, then shut down its write side
  int in_fd = 0, out_fd = 1, err_fd = 2;
  // Signals handled while streaming (SIGWINCH for resizes, the sig-proxy set), with the callback
  // that gets them, on the streaming thread.
  std::vector<int> signals;
  std::function<void(int)> on_signal;
};

// Runs a hijacked stream to its end: takes conn.buffered() first, then copies the socket to
// out_fd/err_fd until the daemon closes it, and stdin to the socket meanwhile when send_stdin
// (without it the write side is shut down at once, as docker does). Returns when output reaches
// EOF, even if stdin is still open. Errors: a systemerr frame, a write to a closed stdout, or a
// broken connection.
base::Status PumpStream(client::Connection& conn, const StreamOptions& opts);

}  // namespace berth::cli
