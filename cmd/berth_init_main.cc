// berth-init: the init berthd bind-mounts at /sbin/docker-init and runs as pid 1 of a container
// started with --init, as dockerd does with docker-init (tini). It runs its arguments as a child,
// forwards the signals it receives to that child, reaps every process re-parented to it (orphans
// of the container end up here), and exits as the child did: its exit code, or 128 + the signal
// that killed it.
//
// Usage: berth-init [-g] [--] COMMAND [ARG...]
//   -g  forward signals to the child's process group rather than to the child alone
//
// It is linked statically (the image may have no libc at all, or a different one) and kept to
// plain libc calls: no C++ runtime, no allocation, no threads.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BERTH_INIT_VERSION
#define BERTH_INIT_VERSION "unknown"
#endif
#ifndef BERTH_INIT_COMMIT
#define BERTH_INIT_COMMIT "unknown"
#endif

namespace {

// Signals the kernel raises for a fault of this process: left unblocked, so a bug in the init
// kills it rather than spinning. SIGTTIN/SIGTTOU are ignored instead (see main).
constexpr int kSynchronousSignals[] = {SIGFPE,  SIGILL, SIGSEGV, SIGBUS, SIGABRT,
                                       SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};

void PrintUsage(FILE* out) {
  fputs(
      "Usage: berth-init [-g] [--] COMMAND [ARG...]\n"
      "Runs COMMAND as its child, forwards signals to it, reaps zombies and exits with\n"
      "COMMAND's exit status (128+N when signal N killed it).\n"
      "  -g         forward signals to the child's process group\n"
      "  --version  print the version and exit\n",
      out);
}

// The exit code a shell would report for a child's wait status.
int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

struct SavedSignals {
  sigset_t mask;
  struct sigaction ttin, ttou;
};

// In the forked child: own process group (the terminal's foreground one when stdin is a tty),
// the signal state berth-init was started with, then exec.
[[noreturn]] void ExecChild(char** argv, const SavedSignals& saved) {
  setpgid(0, 0);
  // SIGTTOU is still ignored here, so a background group may take the terminal. No controlling
  // terminal (ENOTTY) or none on this platform (ENXIO) is the common case, not an error.
  if (tcsetpgrp(STDIN_FILENO, getpgrp()) != 0 && errno != ENOTTY && errno != ENXIO) {
    fprintf(stderr, "berth-init: tcsetpgrp: %s\n", strerror(errno));
    _exit(1);
  }
  sigaction(SIGTTIN, &saved.ttin, nullptr);
  sigaction(SIGTTOU, &saved.ttou, nullptr);
  sigprocmask(SIG_SETMASK, &saved.mask, nullptr);
  execvp(argv[0], argv);
  int err = errno;
  fprintf(stderr, "berth-init: exec %s failed: %s\n", argv[0], strerror(err));
  // The shell's convention: 127 for a command not found, 126 for one that cannot run.
  _exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

}  // namespace

int main(int argc, char** argv) {
  bool group = false;
  int first = 1;
  for (; first < argc; ++first) {
    const char* a = argv[first];
    if (strcmp(a, "--") == 0) {
      ++first;
      break;
    }
    if (strcmp(a, "--version") == 0) {
      // "NAME version V - git.COMMIT", the shape of tini's line that dockerd parses for /info.
      puts("berth-init version " BERTH_INIT_VERSION " - git." BERTH_INIT_COMMIT);
      return 0;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      PrintUsage(stdout);
      return 0;
    }
    if (strcmp(a, "-g") == 0) {
      group = true;
      continue;
    }
    if (a[0] == '-') {
      fprintf(stderr, "berth-init: unknown option %s\n", a);
      PrintUsage(stderr);
      return 1;
    }
    break;
  }
  if (first >= argc) {
    PrintUsage(stderr);
    return 1;
  }

  // Every other signal is blocked and taken with sigwaitinfo below. Blocking also matters for
  // pid 1 of a pid namespace: the kernel drops signals from inside the namespace that pid 1 has
  // no handler for, but never blocked ones.
  sigset_t waited;
  sigfillset(&waited);
  for (int sig : kSynchronousSignals) sigdelset(&waited, sig);
  SavedSignals saved;
  if (sigprocmask(SIG_SETMASK, &waited, &saved.mask) != 0) {
    fprintf(stderr, "berth-init: sigprocmask: %s\n", strerror(errno));
    return 1;
  }
  // Ignored so that handing the terminal to the child's group cannot stop berth-init.
  struct sigaction ignore;
  memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGTTIN, &ignore, &saved.ttin);
  sigaction(SIGTTOU, &ignore, &saved.ttou);
  // Outside a pid namespace (or when something else is pid 1) orphans would go to the real
  // init; as a subreaper they come here, as they would to pid 1.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) ExecChild(argv + first, saved);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&waited, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "berth-init: sigwaitinfo: %s\n", strerror(errno));
      return 1;
    }
    if (sig != SIGCHLD) {
      // ESRCH: the child has just exited; its SIGCHLD is pending and ends the loop.
      kill(group ? -child : child, sig);
      continue;
    }
    // One SIGCHLD may stand for many exits (standard signals do not queue): reap until none is
    // left waiting.
    int exit_code = -1;
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;  // 0: the rest still run; -1 (ECHILD): no children left
      if (pid == child) exit_code = ExitCodeOf(status);
    }
    // As tini: the container ends with its command; processes it left behind are killed by the
    // kernel when pid 1 exits.
    if (exit_code >= 0) return exit_code;
  }
}
