// The berth command line: `berth [-H unix:///PATH] <command>`. One file per command group; each
// prints to the given streams and returns the process exit code.
#pragma once

#include <cstdio>
#include <string>

#include "client/client.h"

namespace berth::cli {

// Docker's exit code for "the daemon failed us" (unreachable, or an error answer).
inline constexpr int kExitDaemonError = 125;

// Entry point of the berth binary.
int Main(int argc, char** argv);

// `berth version`: the client section, then the daemon's; 125 when the daemon cannot be asked.
int RunVersion(client::Client& client, std::FILE* out, std::FILE* err);
// `berth info`: the daemon's /info in Docker's layout; warnings go to `err`.
int RunInfo(client::Client& client, std::FILE* out, std::FILE* err);

// Prints `error` as Docker does and returns 125. A transport failure becomes "Cannot connect to
// the berth daemon at unix://PATH. Is the daemon running?".
int ReportDaemonError(const client::Client& client, const base::Error& error, std::FILE* err);

}  // namespace berth::cli
