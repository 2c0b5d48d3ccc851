// berth-shim: the per-container monitor berthd spawns (see src/shim/shim.h for its protocol).
#include <sys/prctl.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "shim/options.h"
#include "shim/shim.h"
#include "shim/standby.h"
#include "sys/file.h"

int main(int argc, char** argv) {
  // berthd execs shims through /proc/self/fd/N of a read-only view, which would make "N" the
  // command name that ps, top and /proc/PID/comm show.
  ::prctl(PR_SET_NAME, "berth-shim", 0, 0, 0);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--standby") {
    auto standby = berth::shim::ParseStandbyArgs(args);
    if (!standby) {
      (void)berth::sys::WriteAll(2,
                                 "berth-shim: usage: berth-shim --standby [--seccomp-hint FILE]\n");
      return 2;
    }
    return berth::shim::RunStandby(*standby);
  }
  auto options = berth::shim::ParseOptions(args);
  if (!options) {
    (void)berth::sys::WriteAll(2, "berth-shim: " + options.error().message() + "\n");
    return 2;
  }
  // The daemon runs from "/": relative paths from the command line are resolved now.
  auto abs = berth::shim::MakeAbsolute(*options);
  if (!abs) {
    (void)berth::sys::WriteAll(2, "berth-shim: " + abs.error().message() + "\n");
    return 2;
  }
  int ready = options->foreground ? -1 : berth::shim::Daemonize(options->attach_fds);
  return berth::shim::RunShim(*options, ready);
}
