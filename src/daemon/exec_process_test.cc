// The exec's process: user lookup, env merge, building from the container's process.
#include "daemon/exec_process.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth::daemon {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n"
    "app:x:1000:1000::/home/app:/bin/sh\n"
    "broken line\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "users:x:100:app\n"
    "app:x:1000:\n"
    "nogroup:x:65534:\n";

TEST(ExecUser, ByNameAndNumber) {
  auto u = ResolveExecUser("app", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  // The primary group first (as dockerd), then the groups listing the user.
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{1000, 10, 100}));

  u = ResolveExecUser("nobody", kPasswd, kGroup);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 65534u);
  EXPECT_EQ(u->gid, 65534u);
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>{65534});

  // A number needs no passwd entry (gid 0 then), but picks up the entry's group when there is one.
  u = ResolveExecUser("4242", kPasswd, kGroup);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  u = ResolveExecUser("1", "", "");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1u);
  u = ResolveExecUser("1", kPasswd, kGroup);
  EXPECT_EQ(u->gid, 1u);
}

TEST(ExecUser, WithGroup) {
  auto u = ResolveExecUser("app:users", kPasswd, kGroup);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 100u);
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>{100});
  u = ResolveExecUser("1000:5", kPasswd, kGroup);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 5u);
  u = ResolveExecUser("nobody:", kPasswd, kGroup);  // an empty group is the user's
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 65534u);
}

TEST(ExecUser, Unknown) {
  auto u = ResolveExecUser("ghost", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message(), "unable to find user ghost: no matching entries in passwd file");
  u = ResolveExecUser("app:ghosts", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message(), "unable to find group ghosts: no matching entries in group file");
  EXPECT_FALSE(ResolveExecUser("root", "", ""));
}

TEST(ExecUser, Home) {
  EXPECT_EQ(HomeOf(0, kPasswd), "/root");
  EXPECT_EQ(HomeOf(1000, kPasswd), "/home/app");
  EXPECT_EQ(HomeOf(7, kPasswd), "/");
}

TEST(ExecEnv, ReplaceOrAppend) {
  EXPECT_EQ(MergeEnv({"PATH=/bin", "A=1", "B=2"}, {"A=3", "C=4", "B"}),
            (std::vector<std::string>{"PATH=/bin", "A=3", "C=4"}));
  EXPECT_EQ(MergeEnv({}, {"X", "Y=1"}), (std::vector<std::string>{"Y=1"}));
  EXPECT_EQ(MergeEnv({"A=1"}, {"A="}), (std::vector<std::string>{"A="}));
}

oci::Process ContainerProcess() {
  oci::Process p;
  p.args = {"sleep", "100"};
  p.env = {"PATH=/usr/bin:/bin", "HOSTNAME=abc", "A=1"};
  p.cwd = "/srv";
  p.user.uid = 7;
  p.user.gid = 8;
  p.user.umask = 022;
  p.terminal = true;
  p.console_size = oci::ConsoleSize{10, 20};
  p.capabilities = oci::Capabilities{};
  p.capabilities->bounding = {"CAP_KILL"};
  p.no_new_privileges = true;
  return p;
}

TEST(ExecProcess, DefaultsFromTheContainer) {
  ExecProcessInputs in;
  in.container = ContainerProcess();
  in.config.cmd = {"echo", "hi"};
  oci::Process p = BuildExecProcess(in);
  EXPECT_EQ(p.args, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_FALSE(p.terminal);
  EXPECT_FALSE(p.console_size);
  EXPECT_EQ(p.env, in.container.env);
  EXPECT_EQ(p.cwd, "/srv");
  EXPECT_EQ(p.user.uid, 7u);
  EXPECT_EQ(p.user.gid, 8u);
  EXPECT_EQ(p.capabilities, in.container.capabilities);
  EXPECT_TRUE(p.no_new_privileges);
}

TEST(ExecProcess, ExecOverrides) {
  ExecProcessInputs in;
  in.container = ContainerProcess();
  in.config.cmd = {"sh"};
  in.config.tty = true;
  in.config.console_size = std::pair<uint32_t, uint32_t>{30, 100};
  in.config.env = {"A=2", "NEW=x"};
  in.config.working_dir = "/tmp";
  in.config.user = "app";
  in.config.privileged = true;
  oci::User u;
  u.uid = 1000;
  u.gid = 1000;
  u.additional_gids = {10};
  in.user = u;
  in.home = "/home/app";
  in.privileged_caps = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  oci::Process p = BuildExecProcess(in);
  EXPECT_TRUE(p.terminal);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 30u);
  EXPECT_EQ(p.console_size->width, 100u);
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "HOSTNAME=abc", "A=2",
                                             "TERM=xterm", "NEW=x", "HOME=/home/app"}));
  EXPECT_EQ(p.cwd, "/tmp");
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{10}));
  EXPECT_EQ(p.user.umask, 022u);  // the container's umask stays
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding, in.privileged_caps);
  EXPECT_EQ(p.capabilities->effective, in.privileged_caps);
}

TEST(ExecProcess, TermAndHome) {
  ExecProcessInputs in;
  in.container = ContainerProcess();
  in.container.env.push_back("TERM=vt100");
  in.container.env.push_back("HOME=/custom");
  in.config.cmd = {"sh"};
  in.config.tty = true;
  in.home = "/root";
  oci::Process p = BuildExecProcess(in);
  // The container's TERM and HOME win over the defaults.
  EXPECT_EQ(std::count(p.env.begin(), p.env.end(), "TERM=vt100"), 1);
  EXPECT_EQ(std::count(p.env.begin(), p.env.end(), "TERM=xterm"), 0);
  EXPECT_EQ(std::count(p.env.begin(), p.env.end(), "HOME=/custom"), 1);
  EXPECT_EQ(std::count(p.env.begin(), p.env.end(), "HOME=/root"), 0);
}

TEST(ExecProcess, SerializesAsProcessJson) {
  ExecProcessInputs in;
  in.container = ContainerProcess();
  in.config.cmd = {"echo", "a b"};
  oci::Process p = BuildExecProcess(in);
  std::string text = SerializeProcess(p);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["args"][1], "a b");
  EXPECT_EQ(j["cwd"], "/srv");
  auto back = oci::ParseProcess(text);
  ASSERT_TRUE(back) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, p);
}

TEST(ExecStartFailure, CodesAndText) {
  EXPECT_EQ(ExecStartFailureCode("exec: \"nope\": executable file not found in $PATH"), 127);
  EXPECT_EQ(ExecStartFailureCode("exec: \"/nope\": stat /nope: no such file or directory"), 127);
  EXPECT_EQ(ExecStartFailureCode("exec: \"/etc\": is a directory"), 126);
  EXPECT_EQ(ExecStartFailureCode("exec: \"/etc/passwd\": permission denied"), 126);
  EXPECT_EQ(ExecStartFailureCode("unable to find user x: no matching entries in passwd file"), 126);
  EXPECT_EQ(ExecStartFailureText("exec: \"nope\": executable file not found in $PATH"),
            "OCI runtime exec failed: exec failed: unable to start container process: exec: "
            "\"nope\": executable file not found in $PATH: unknown");
}

}  // namespace
}  // namespace berth::daemon
