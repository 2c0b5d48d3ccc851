// The berth command line: `berth [-H unix:///PATH | -H tcp://HOST:PORT --tlsverify ...] <command>`.
// One file per command group; each prints to the given streams and returns the process exit code.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "client/client.h"

namespace berth::cli {

// Docker's exit code for "the daemon failed us" (unreachable, or an error answer).
inline constexpr int kExitDaemonError = 125;

// docker's exit code for a failed image command (an error answer or a bad argument).
inline constexpr int kExitImageError = 1;

// Entry point of the berth binary.
int Main(int argc, char** argv);

// `berth version`: the client section, then the daemon's; 125 when the daemon cannot be asked.
int RunVersion(client::Client& client, std::FILE* out, std::FILE* err);
// `berth info`: the daemon's /info in Docker's layout; warnings go to `err`.
int RunInfo(client::Client& client, std::FILE* out, std::FILE* err);

// Image commands (image.cc). Each returns 0 or kExitImageError; daemon errors are printed as
// "Error response from daemon: ...".
// `berth pull`: progress bars redrawn in place on a terminal, status lines otherwise, then the
// full reference on `out`.
int RunPull(client::Client& client, const std::string& ref, const std::string& platform,
            std::FILE* out, std::FILE* err);
// The pull without the final reference line, progress on `progress` (run/create pull a missing
// image this way, with the progress on stderr).
int PullImage(client::Client& client, const std::string& ref, const std::string& platform,
              std::FILE* progress, std::FILE* err);
// `berth push`: "Using default tag: latest" when none is given (all_tags: every local tag of
// the repository instead), then docker's push output; quiet: only the reference at the end.
int RunPush(client::Client& client, const std::string& ref, bool all_tags, bool quiet,
            std::FILE* out, std::FILE* err);
int RunImages(client::Client& client, bool all, bool quiet, bool digests, std::FILE* out,
              std::FILE* err);
int RunRmi(client::Client& client, const std::vector<std::string>& refs, bool force, bool no_prune,
           std::FILE* out, std::FILE* err);
int RunTag(client::Client& client, const std::string& source, const std::string& target,
           std::FILE* err);
int RunHistory(client::Client& client, const std::string& ref, bool quiet, std::FILE* out,
               std::FILE* err);
int RunImageInspect(client::Client& client, const std::vector<std::string>& refs, std::FILE* out,
                    std::FILE* err);
// `output` empty: stdout, refused when it is a terminal.
int RunSave(client::Client& client, const std::vector<std::string>& refs, const std::string& output,
            std::FILE* err);
// `input` empty: stdin.
int RunLoad(client::Client& client, const std::string& input, bool quiet, std::FILE* out,
            std::FILE* err);
// `file` "-": stdin.
int RunImport(client::Client& client, const std::string& file, const std::string& ref,
              const std::vector<std::string>& changes, const std::string& message, std::FILE* out,
              std::FILE* err);
// Checks the credentials through the daemon, then stores them in Docker's config.json
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json), which `pull` reads back.
int RunLogin(client::Client& client, std::string server, std::string user, std::string password,
             bool password_stdin, std::FILE* out, std::FILE* err);
int RunLogout(std::string server, std::FILE* out, std::FILE* err);

// Prints `error` as Docker does and returns 125. A failure to connect becomes "Cannot connect to
// the berth daemon at unix://PATH. Is the daemon running?"; a TLS failure ("error during
// connect: ...") is printed as it is.
int ReportDaemonError(const client::Client& client, const base::Error& error, std::FILE* err);
// Whether `error` is the client's failure to reach the daemon at all (not an answer from it, even
// a 503, which also maps to kUnavailable).
bool IsConnectError(const base::Error& error);

}  // namespace berth::cli
