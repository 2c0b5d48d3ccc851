// Cgroupfs file access shared by the v1 and v2 managers (internal to this library). Every
// function takes the directory, so the same code runs against /sys/fs/cgroup or a test's fake
// tree of plain files. Errors name the syscall and the full path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::runtime::cgroup::internal {

// a + "/" + b without doubled slashes.
std::string JoinPath(std::string_view a, std::string_view b);
// path is mount itself or lies below it (lexically; callers reject ".." first).
bool IsInside(std::string_view path, std::string_view mount);
bool HasDotDot(std::string_view path);

bool FileExists(const std::string& dir, const std::string& file);
// One write of value to an existing interface file.
base::Status WriteFile(const std::string& dir, const std::string& file, std::string_view value);
// The file's text without surrounding whitespace.
base::Result<std::string> ReadFile(const std::string& dir, const std::string& file);
// A single number; "max" reads as kUnlimited.
base::Result<uint64_t> ReadUint(const std::string& dir, const std::string& file);
// "key value" lines (memory.stat, cpu.stat, memory.events); lines whose value is not a number
// are skipped.
std::map<std::string, uint64_t> ParseKeyValues(std::string_view text);
base::Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir,
                                                            const std::string& file);

// Makes dir and any missing parents below mount. For every level below mount, top-down and
// whether or not this call created it, calls each_level(parent, child) once child exists:
// v1 seeds an empty cpuset from the parent, v2 enables controllers in the parent.
base::Status MkdirBelow(const std::string& mount, const std::string& dir,
                        const std::function<base::Status(const std::string& parent,
                                                         const std::string& child)>& each_level);

// Pids in dir/cgroup.procs and in every descendant cgroup's, sorted, without duplicates.
base::Result<std::vector<pid_t>> ReadPidsRecursive(const std::string& dir);
// kill(2)s each pid; a pid that is already gone is not an error.
base::Status SignalPids(const std::vector<pid_t>& pids, int sig);

// rmdir of dir and its descendant cgroups (deepest first). EBUSY is retried with backoff for
// about a second (processes still exiting); ENOENT is success.
base::Status RemoveCgroupTree(const std::string& dir);

// Calls done() every few milliseconds until it yields true or timeout passes. An error from
// done() ends the wait with that error; the timeout yields false.
base::Result<bool> PollUntil(const std::function<base::Result<bool>()>& done,
                             std::chrono::milliseconds timeout);

}  // namespace berth::runtime::cgroup::internal
