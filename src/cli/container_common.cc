// Helpers shared by the container command groups: API paths, status checks, docker's error
// texts and exit codes, and a hijacked stream run with resizes and the signal proxy.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "api/version.h"
#include "cli/cli.h"
#include "cli/container.h"
#include "cli/stream.h"

namespace berth::cli {

std::string ApiPath(std::string_view path) {
  return "/v" + std::string(api::kApiVersion) + std::string(path);
}

base::Status CheckStatus(const base::Result<client::Response>& r) {
  if (!r) return base::Fail(r.error());
  if ((r->status >= 200 && r->status <= 299) || r->status == 304) return {};
  return base::Fail(client::ErrorFromResponse(*r));
}

int CommandError(const client::Client& client, const base::Error& error) {
  ReportDaemonError(client, error, stderr);
  return kExitCommandError;
}

int StartErrorExitCode(std::string_view m) {
  // cli/command/container/run.go toStatusError.
  if (m.find("executable file not found") != std::string_view::npos ||
      m.find("no such file or directory") != std::string_view::npos ||
      m.find("system cannot find the file specified") != std::string_view::npos)
    return kExitNotFound;
  if (m.find("permission denied") != std::string_view::npos ||
      m.find("is a directory") != std::string_view::npos ||
      m.find("cannot execute binary file") != std::string_view::npos)
    return kExitCannotInvoke;
  return kExitDaemonError;
}

void ResizeTty(client::Client& client, const std::string& resize_target, bool retry) {
  auto [rows, cols] = TerminalSize(1);
  // docker skips a 0x0 size (not a terminal).
  if (rows == 0 && cols == 0) return;
  std::string target = ApiPath(resize_target) + fmt::format("?h={}&w={}", rows, cols);
  for (int i = 0; i < (retry ? 10 : 1); ++i) {
    if (CheckStatus(client.Post(target, "", ""))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * (i + 1)));
  }
}

base::Status StreamContainer(client::Client& client, client::Connection& conn, bool tty,
                             bool send_stdin, const std::string& resize_target,
                             const std::string& kill_target) {
  StreamOptions opts;
  opts.tty = tty;
  opts.send_stdin = send_stdin;
  if (tty) opts.signals.push_back(SIGWINCH);
  // docker's sig-proxy (off with a TTY: the terminal's own ^C reaches the container).
  if (!tty && !kill_target.empty())
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) opts.signals.push_back(s);
  opts.on_signal = [&](int sig) {
    if (sig == SIGWINCH) {
      ResizeTty(client, resize_target, false);
      return;
    }
    const char* name = sigabbrev_np(sig);
    (void)client.Post(ApiPath(kill_target) + "?signal=" + (name ? name : std::to_string(sig)), "",
                      "");
  };
  std::fflush(stdout);
  std::fflush(stderr);
  return PumpStream(conn, opts);
}

}  // namespace berth::cli
