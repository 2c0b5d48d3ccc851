// Tests for the default seccomp profile and the resolution of Docker profiles. A small evaluator
// applies a resolved profile to a syscall the way the kernel filter would (first matching rule
// in the runtime's semantics: args ANDed within a rule, any matching rule of a name counts).
#include "daemon/spec/seccomp_default.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/spec/generate.h"

namespace berth::daemon::spec {
namespace {

struct Outcome {
  std::string action;
  uint32_t errno_ret = 0;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << o.action << "(" << o.errno_ret << ")";
}

bool ArgMatches(const oci::SeccompArg& a, const std::array<uint64_t, 6>& args) {
  uint64_t v = args[a.index];
  if (a.op == "SCMP_CMP_EQ") return v == a.value;
  if (a.op == "SCMP_CMP_NE") return v != a.value;
  if (a.op == "SCMP_CMP_LT") return v < a.value;
  if (a.op == "SCMP_CMP_LE") return v <= a.value;
  if (a.op == "SCMP_CMP_GT") return v > a.value;
  if (a.op == "SCMP_CMP_GE") return v >= a.value;
  if (a.op == "SCMP_CMP_MASKED_EQ") return (v & a.value) == a.value_two;
  ADD_FAILURE() << "unknown op " << a.op;
  return false;
}

// Allow wins over errno when several rules match (libseccomp gives rules of one syscall with
// different actions precedence to the more permissive only if args differ; our profiles never
// mix both for one call except clone3, which has no args).
Outcome Evaluate(const oci::Seccomp& s, std::string_view name, std::array<uint64_t, 6> args = {}) {
  std::optional<Outcome> hit;
  for (const auto& rule : s.syscalls) {
    if (std::find(rule.names.begin(), rule.names.end(), name) == rule.names.end()) continue;
    if (!std::all_of(rule.args.begin(), rule.args.end(),
                     [&](const oci::SeccompArg& a) { return ArgMatches(a, args); }))
      continue;
    Outcome o{rule.action, rule.errno_ret.value_or(rule.action == "SCMP_ACT_ERRNO" ? EPERM : 0)};
    if (!hit || o.action == "SCMP_ACT_ALLOW") hit = o;
  }
  if (hit) return *hit;
  return {s.default_action, s.default_errno_ret.value_or(0)};
}

const Outcome kAllow{"SCMP_ACT_ALLOW", 0};
const Outcome kEperm{"SCMP_ACT_ERRNO", EPERM};
const Outcome kEnosys{"SCMP_ACT_ERRNO", ENOSYS};

oci::Seccomp Resolve(std::vector<std::string> caps, std::string machine = "x86_64",
                     KernelVersion kernel = {6, 1}) {
  auto r = ResolveSeccompProfile(DefaultSeccompProfile(), caps, machine, kernel);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : oci::Seccomp{};
}

TEST(DefaultSeccomp, BasicsWithDefaultCaps) {
  oci::Seccomp s = Resolve(DefaultCapabilities());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, uint32_t{EPERM});
  EXPECT_EQ(s.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  for (const char* ok :
       {"read", "write", "execve", "openat", "exit_group", "chroot", "arch_prctl", "ptrace"})
    EXPECT_EQ(Evaluate(s, ok), kAllow) << ok;
  EXPECT_EQ(Evaluate(s, "clone3"), kEnosys);
  for (const char* no : {"unshare", "mount", "setns", "keyctl", "io_uring_setup", "socketcall",
                         "kexec_load", "pivot_root", "reboot", "init_module", "bpf"})
    EXPECT_EQ(Evaluate(s, no), kEperm) << no;
  // clone: a thread or fork is fine, a new user (or net) namespace is not.
  EXPECT_EQ(Evaluate(s, "clone", {0x3d0f00 /* CLONE_VM|CLONE_THREAD|... */}), kAllow);
  EXPECT_EQ(Evaluate(s, "clone", {0x10000000 /* CLONE_NEWUSER */ | 17}), kEperm);
  EXPECT_EQ(Evaluate(s, "clone", {0x40000000 /* CLONE_NEWNET */}), kEperm);
  // socket families.
  EXPECT_EQ(Evaluate(s, "socket", {2 /* AF_INET */}), kAllow);
  EXPECT_EQ(Evaluate(s, "socket", {1 /* AF_UNIX */}), kAllow);
  EXPECT_EQ(Evaluate(s, "socket", {16 /* AF_NETLINK */}), kAllow);
  EXPECT_EQ(Evaluate(s, "socket", {39}), kAllow);
  EXPECT_EQ(Evaluate(s, "socket", {44 /* AF_XDP */}), kAllow);
  EXPECT_EQ(Evaluate(s, "socket", {38 /* AF_ALG */}), kEperm);
  EXPECT_EQ(Evaluate(s, "socket", {40 /* AF_VSOCK */}), kEperm);
  // personality.
  EXPECT_EQ(Evaluate(s, "personality", {0}), kAllow);
  EXPECT_EQ(Evaluate(s, "personality", {0xffffffff}), kAllow);
  EXPECT_EQ(Evaluate(s, "personality", {0x0040000 /* ADDR_NO_RANDOMIZE */}), kEperm);
}

TEST(DefaultSeccomp, SysAdminUnlocksNamespaces) {
  std::vector<std::string> caps = DefaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  oci::Seccomp s = Resolve(caps);
  EXPECT_EQ(Evaluate(s, "unshare"), kAllow);
  EXPECT_EQ(Evaluate(s, "mount"), kAllow);
  EXPECT_EQ(Evaluate(s, "setns"), kAllow);
  EXPECT_EQ(Evaluate(s, "clone3"), kAllow);
  EXPECT_EQ(Evaluate(s, "clone", {0x10000000}), kAllow);
  EXPECT_EQ(Evaluate(s, "reboot"), kEperm);  // still needs CAP_SYS_BOOT
}

TEST(DefaultSeccomp, ArchAndKernelFilters) {
  oci::Seccomp arm = Resolve(DefaultCapabilities(), "aarch64");
  EXPECT_EQ(arm.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_EQ(Evaluate(arm, "arch_prctl"), kEperm);
  EXPECT_EQ(Evaluate(arm, "set_tls"), kAllow);
  // Before 4.8 ptrace could bypass seccomp, so it needs CAP_SYS_PTRACE there.
  oci::Seccomp old = Resolve(DefaultCapabilities(), "x86_64", {4, 4});
  EXPECT_EQ(Evaluate(old, "ptrace"), kEperm);
}

TEST(ParseSeccompProfile, DockerFormat) {
  auto p = ParseSeccompProfile(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}
    ]})");
  ASSERT_TRUE(p) << p.error().message();
  auto s = ResolveSeccompProfile(*p, {"CAP_CHOWN"}, "x86_64", {6, 1});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->default_errno_ret, 38u);
  EXPECT_EQ(s->architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  EXPECT_EQ(Evaluate(*s, "read"), kAllow);
  EXPECT_EQ(Evaluate(*s, "ptrace"), kAllow);
  EXPECT_EQ(Evaluate(*s, "mount").action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(Evaluate(*s, "socket", {40}).action, "SCMP_ACT_ERRNO");

  auto both = ParseSeccompProfile(
      R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"]}]})");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message().find("use either 'name' or 'names'"), std::string::npos);
  auto arches = ParseSeccompProfile(
      R"({"architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "x"}]})");
  ASSERT_FALSE(arches);
  EXPECT_FALSE(ParseSeccompProfile("not json"));
}

}  // namespace
}  // namespace berth::daemon::spec
