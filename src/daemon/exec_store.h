// ExecStore: the daemon's in-memory record of `docker exec` instances (POST /containers/{id}/exec
// creates one, /exec/{id}/start runs it once under an exec-mode berth-shim). Like dockerd, exec
// records do not survive a daemon restart; finished ones are forgotten after a grace period.
//
// Thread-safety: all methods are safe to call concurrently; records are returned by value.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::daemon {

// The exec create body (ExecConfig in the Engine API).
struct ExecConfig {
  std::string user;  // "user[:group]", names or numbers; "" = the container's
  bool privileged = false;
  bool tty = false;
  bool attach_stdin = false;
  bool attach_stdout = false;
  bool attach_stderr = false;
  std::string detach_keys;  // "" = the default
  std::vector<std::string> env;
  std::string working_dir;  // "" = the container's
  std::vector<std::string> cmd;
  std::optional<std::pair<uint32_t, uint32_t>> console_size;  // {height, width}
};

// Parses the JSON body. InvalidArgument for malformed JSON, fields of the wrong type and an
// empty Cmd ("No exec command specified", dockerd's words).
base::Result<ExecConfig> ParseExecConfig(std::string_view body);

// "echo hi": the command as events and inspect show it.
std::string ExecCommandLine(const ExecConfig& config);

struct ExecRecord {
  std::string id;  // 64 hex
  std::string container_id;
  ExecConfig config;
  bool started = false;  // start was called (it runs at most once)
  bool running = false;
  std::optional<int> exit_code;  // set once it finished (or failed to start)
  int pid = 0;                   // host pid of the process while it runs
  std::string state_dir;         // the exec shim's, while it runs
  std::chrono::steady_clock::time_point finished_at;
};

class ExecStore {
 public:
  // Finished records are dropped this long after they finished (dockerd: 5 minutes).
  static constexpr std::chrono::minutes kRetention{5};

  // Records a new exec (not started) and returns it.
  ExecRecord Create(std::string id, std::string container_id, ExecConfig config);
  // NotFound "No such exec instance: <id>".
  base::Result<ExecRecord> Get(const std::string& id) const;
  // Claims the one start: Conflict when it was started before (running or finished).
  base::Result<ExecRecord> MarkStarting(const std::string& id);
  // The process runs (pid on the host, state dir of its shim).
  void MarkRunning(const std::string& id, int pid, std::string state_dir);
  // A terminal size that came before the process runs (the CLI resizes right after the
  // hijack): kept as config.console_size for the start. False when it runs or finished.
  bool SetConsoleSize(const std::string& id, uint32_t height, uint32_t width);
  // Records the end. True only for the first call for a record (the caller then publishes the
  // exec_die event and cleans up); later calls keep the first exit code.
  bool Finish(const std::string& id, int exit_code);
  // Whether Finish was called (false for unknown ids).
  bool Finished(const std::string& id) const;

  // Ids of the container's execs, oldest first (inspect's ExecIDs).
  std::vector<std::string> IdsOf(const std::string& container_id) const;
  // Records of the container's running execs.
  std::vector<ExecRecord> RunningOf(const std::string& container_id) const;
  // Forgets the container's execs that are not running.
  void ForgetContainer(const std::string& container_id);
  // Drops finished records older than kRetention (relative to `now`).
  void Prune(std::chrono::steady_clock::time_point now);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, ExecRecord> records_;  // by id
  std::map<std::string, uint64_t> order_;      // id -> creation sequence
  uint64_t next_ = 0;
};

}  // namespace berth::daemon
