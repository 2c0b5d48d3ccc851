// Attach: the hijacked connection goes to the container's shim. Before the container runs
// (`docker run`, `start -a`) it waits in PendingAttaches and is handed to the shim at spawn, so
// no output is lost and berthd is not in the data path at all; attaching to a running
// container bridges the connection to the shim's attach.sock on a thread of its own.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "base/log.h"
#include "base/strings.h"
#include "daemon/container_internal.h"
#include "daemon/frame_filter.h"
#include "daemon/log_select.h"
#include "daemon/query.h"
#include "sys/file.h"
#include "sys/socket.h"

namespace berth::daemon {
namespace {

constexpr const char* kRawStream = "application/vnd.docker.raw-stream";

bool IsRunning(const ContainerRecord& rec) {
  return rec.state.status == "running" || rec.state.status == "paused";
}

// The log as it is, framed as the attach stream frames it, for logs=1.
bool ReplayLog(int fd, const std::string& log_path, bool tty, bool want_stdout, bool want_stderr) {
  LogSelection sel;
  sel.stdout_wanted = want_stdout;
  sel.stderr_wanted = want_stderr;
  sel.tty = tty;
  JsonLogReader reader(log_path);
  std::string chunk;
  for (const LogEntry& e : SelectLogEntries(reader.ReadAll(), sel)) {
    chunk += FrameLogEntry(e, sel);
    if (chunk.size() >= 64 * 1024) {
      if (!sys::WriteAll(fd, chunk)) return false;
      chunk.clear();
    }
  }
  return chunk.empty() || sys::WriteAll(fd, chunk);
}

Response Attach(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto found = FindFresh(ctx, name);
  if (!found) return Response::FromError(found.error());
  ContainerRecord rec = *found;
  bool stream = q.Bool("stream");
  bool logs = q.Bool("logs");
  bool want_stdin = q.Bool("stdin");
  bool want_stdout = q.Bool("stdout");
  bool want_stderr = q.Bool("stderr");
  PublishContainerEvent(ctx, rec, "attach");
  // Decided before the 101 goes out, under the lock StartContainer takes: a container that is
  // not running gets this connection when it starts, even if the client sends the start the
  // moment it reads the 101 (before the callback below has run): the start waits for the
  // reservation (PendingAttaches).
  std::shared_ptr<PendingAttaches::Reservation> reserved;
  if (stream) {
    auto lock = ctx->containers->OpLock(rec.id);
    std::lock_guard guard(*lock);
    auto now = FindFresh(ctx, rec.id);
    if (!now) return Response::FromError(now.error());
    if (!IsRunning(*now)) reserved = ctx->attaches.Reserve(rec.id);
  }
  // API 1.41 answers raw-stream whatever the framing (the client knows from Config.Tty).
  return Response::Hijack(kRawStream, [ctx, id = rec.id, tty = rec.tty, stream, logs, want_stdin,
                                       want_stdout, want_stderr,
                                       reserved](int fd, std::string early) {
    // With a TTY there is one stream and no framing: stdout=0 alone cannot select anything.
    FrameFilter streams(want_stdout || tty, want_stderr || tty);
    if (logs && !ReplayLog(fd, PathsOf(ctx, id).log, tty, want_stdout || tty, want_stderr || tty))
      return;
    if (!stream) return;
    if (reserved) {
      // Handed to the shim at the start. Stdin sent before the client read our 101 is
      // dropped: the Docker clients wait for it. The shim writes to a handed-over connection
      // itself, so stream selection does not apply there.
      reserved->Fulfill(sys::UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 3)));
      return;
    }
    auto shim = sys::ConnectUnix(PathsOf(ctx, id).state + "/attach.sock");
    if (!shim) {
      base::LogDebug("attach {}: {}", id, shim.error().message());
      return;
    }
    BridgeStreams(fd, early, shim->get(), want_stdin, streams.Active() ? &streams : nullptr);
  });
}

Response Resize(ContainerContext* ctx, const std::string& name, const Query& q) {
  auto rec = FindFresh(ctx, name);
  if (!rec) return Response::FromError(rec.error());
  if (!IsRunning(*rec))
    return Response::ErrorMessage(409, fmt::format("Container {} is not running", rec->id));
  auto h = base::ParseInt(q.Get("h")), w = base::ParseInt(q.Get("w"));
  if (!h || !w || *h < 0 || *w < 0)
    return Response::ErrorMessage(400, "invalid resize: h and w must be non-negative integers");
  if (auto st = ShimControl(ctx, rec->id, fmt::format("resize {} {}", *h, *w)); !st)
    return Response::FromError(st.error());
  return Response::Text(200, "");
}

}  // namespace

void BridgeStreams(int client, const std::string& early, int shim, bool forward_stdin,
                   FrameFilter* output) {
  if (!early.empty() && !sys::WriteAll(shim, early)) return;
  bool client_open = true;
  char buf[32 << 10];
  for (;;) {
    struct pollfd fds[2] = {{shim, POLLIN, 0}, {client, short(client_open ? POLLIN : 0), 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) {
      ssize_t n = read(shim, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // output ended: the server closes the connection
      std::string_view out(buf, size_t(n));
      std::string kept;
      if (output) out = kept = output->Feed(out);
      if (!sys::WriteAll(client, out)) return;
    }
    if (client_open && fds[1].revents) {
      ssize_t n = read(client, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // reset: the client is gone
      if (n == 0) {
        // shutdown(SHUT_WR) by the client: stdin finished, output still wanted.
        client_open = false;
        if (forward_stdin) shutdown(shim, SHUT_WR);
        continue;
      }
      if (forward_stdin && !sys::WriteAll(shim, std::string_view(buf, size_t(n)))) return;
    }
  }
}

void AddAttachRoutes(Router& router, ContainerContext* ctx) {
  router.Add("POST", "/containers/{id}/attach", [ctx](Request& req) -> base::Result<Response> {
    return Attach(ctx, req.params["id"], Query(req.query));
  });
  router.Add("POST", "/containers/{id}/resize", [ctx](Request& req) -> base::Result<Response> {
    return Resize(ctx, req.params["id"], Query(req.query));
  });
}

}  // namespace berth::daemon
