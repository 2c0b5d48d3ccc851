// Capabilities: name <-> number mapping (libcap), what the kernel and this process support, and
// applying an OCI `process.capabilities` to the container init before execve.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"

namespace berth::runtime::linux {

// "CAP_CHOWN", "cap_chown", "chown", "Chown" -> 0. Unknown -> kInvalidArgument naming the name.
// Names libcap does not know (newer than this libcap) are unknown.
base::Result<int> CapFromName(std::string_view name);

// 0 -> "CAP_CHOWN". A number libcap has no name for comes back as "CAP_<n>".
std::string CapName(int cap);

// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap; probed with
// PR_CAPBSET_READ when /proc is not mounted). Computed once per process.
int LastCap();

// The bounding set of the calling thread, from the CapBnd line of /proc/self/status.
base::Result<uint64_t> BoundingSetOfSelf();

// Turns a list of names into a bitmask (bit n = capability n). Errors as CapFromName, with the
// field in the message ("process.capabilities.bounding: unknown capability \"CAP_FOO\"").
base::Result<uint64_t> CapMask(const std::vector<std::string>& names, std::string_view field);

// Sets PR_SET_KEEPCAPS so that the permitted set survives setresuid() away from uid 0. Call it
// before the uid change; ApplyCapabilities clears it again (execve would anyway).
base::Status PrepareForUidChange();

// Applies caps to the calling thread. Contract:
//  - runs in the single-threaded container init, AFTER setresgid/setresuid/setgroups and
//    BEFORE execve; a seccomp filter loaded earlier (runc's order without no_new_privs) must
//    allow capset and prctl;
//  - if the uid changed away from 0, PrepareForUidChange() was called before the change, so the
//    permitted set still holds what the container should get (the effective set may be empty:
//    this function raises it from the permitted set first, since dropping from the bounding set
//    needs CAP_SETPCAP in the effective set).
// Order: validate everything; effective := permitted; drop every cap not in `bounding` from the
// bounding set (caps above LastCap() are skipped); capset(effective, permitted, inheritable);
// clear the ambient set and raise `ambient`; clear PR_SET_KEEPCAPS.
// Errors (nothing is changed when validation fails):
//  - kInvalidArgument: an unknown name; effective not a subset of permitted; ambient not a
//    subset of permitted and inheritable (the kernel would refuse to raise it);
//  - kPermissionDenied: a requested cap the process cannot grant: "unable to apply caps:
//    CAP_SYS_RESOURCE is not in the runtime's bounding set (the host does not grant it)", or
//    "... is not in the runtime's permitted set (...)";
//  - errno errors naming the prctl/capset call that failed.
base::Status ApplyCapabilities(const oci::Capabilities& caps);

}  // namespace berth::runtime::linux
