// ExecStore and the exec create body.
#include "daemon/exec_store.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(ExecConfig, ParsesTheCliBody) {
  auto c = ParseExecConfig(
      R"({"User":"nobody:users","Privileged":false,"Tty":true,"AttachStdin":true,
          "AttachStdout":true,"AttachStderr":true,"Detach":false,"DetachKeys":"ctrl-a",
          "Env":["X=1","Y"],"WorkingDir":"/tmp","Cmd":["sh","-c","echo hi"],
          "ConsoleSize":[40,120]})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->user, "nobody:users");
  EXPECT_TRUE(c->tty && c->attach_stdin && c->attach_stdout && c->attach_stderr);
  EXPECT_FALSE(c->privileged);
  EXPECT_EQ(c->detach_keys, "ctrl-a");
  EXPECT_EQ(c->env, (std::vector<std::string>{"X=1", "Y"}));
  EXPECT_EQ(c->working_dir, "/tmp");
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  ASSERT_TRUE(c->console_size);
  EXPECT_EQ(c->console_size->first, 40u);
  EXPECT_EQ(c->console_size->second, 120u);
  EXPECT_EQ(ExecCommandLine(*c), "sh -c echo hi");
}

TEST(ExecConfig, NullsAreDefaults) {
  // docker-py sends nulls; a 0x0 console is no size.
  auto c = ParseExecConfig(
      R"({"User":null,"Env":null,"WorkingDir":null,"Cmd":["true"],"ConsoleSize":[0,0]})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->user, "");
  EXPECT_TRUE(c->env.empty());
  EXPECT_FALSE(c->console_size);
  EXPECT_FALSE(c->tty);
}

TEST(ExecConfig, Rejects) {
  auto c = ParseExecConfig(R"({"Cmd":[]})");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "No exec command specified");
  EXPECT_EQ(c.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseExecConfig(R"({})"));
  EXPECT_FALSE(ParseExecConfig("not json"));
  EXPECT_FALSE(ParseExecConfig("[1]"));
  EXPECT_FALSE(ParseExecConfig(R"({"Cmd":"sh"})"));
  EXPECT_FALSE(ParseExecConfig(R"({"Cmd":["sh",1]})"));
  EXPECT_FALSE(ParseExecConfig(R"({"Cmd":["sh"],"Tty":"yes"})"));
  EXPECT_FALSE(ParseExecConfig(R"({"Cmd":["sh"],"ConsoleSize":[1]})"));
}

ExecConfig Cmd(std::string c) {
  ExecConfig config;
  config.cmd = {std::move(c)};
  return config;
}

TEST(ExecStore, Lifecycle) {
  ExecStore s;
  auto r = s.Create("e1", "c1", Cmd("sh"));
  EXPECT_FALSE(r.started || r.running || r.exit_code);
  auto missing = s.Get("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "No such exec instance: nope");
  EXPECT_EQ(missing.error().code(), base::ErrorCode::kNotFound);

  ASSERT_TRUE(s.MarkStarting("e1"));
  // Started once only.
  auto again = s.MarkStarting("e1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), base::ErrorCode::kConflict);

  // A size before the process runs is kept for its start; 0x0 is no size.
  EXPECT_TRUE(s.SetConsoleSize("e1", 0, 0));
  EXPECT_FALSE(s.Get("e1")->config.console_size);
  EXPECT_TRUE(s.SetConsoleSize("e1", 30, 100));
  EXPECT_EQ(s.Get("e1")->config.console_size, (std::pair<uint32_t, uint32_t>{30, 100}));
  s.MarkRunning("e1", 1234, "/run/x/e1");
  EXPECT_FALSE(s.SetConsoleSize("e1", 1, 1));
  r = *s.Get("e1");
  EXPECT_TRUE(r.running);
  EXPECT_EQ(r.pid, 1234);
  EXPECT_EQ(r.state_dir, "/run/x/e1");
  EXPECT_EQ(s.RunningOf("c1").size(), 1u);
  again = s.MarkStarting("e1");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("is already running"), std::string::npos);

  EXPECT_FALSE(s.Finished("e1"));
  EXPECT_TRUE(s.Finish("e1", 3));
  EXPECT_FALSE(s.Finish("e1", 4));  // the first exit code stays
  EXPECT_TRUE(s.Finished("e1"));
  r = *s.Get("e1");
  EXPECT_FALSE(r.running);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.pid, 0);
  EXPECT_TRUE(s.RunningOf("c1").empty());
  // A finished exec cannot become running again (a late MarkRunning after a failed start).
  s.MarkRunning("e1", 99, "/x");
  EXPECT_FALSE(s.Get("e1")->running);
  EXPECT_FALSE(s.Finish("unknown", 1));
}

TEST(ExecStore, PerContainerAndPruning) {
  ExecStore s;
  s.Create("b", "c1", Cmd("1"));
  s.Create("a", "c1", Cmd("2"));
  s.Create("z", "c2", Cmd("3"));
  EXPECT_EQ(s.IdsOf("c1"), (std::vector<std::string>{"b", "a"}));  // creation order
  EXPECT_EQ(s.IdsOf("c2"), (std::vector<std::string>{"z"}));
  EXPECT_TRUE(s.IdsOf("c3").empty());

  ASSERT_TRUE(s.MarkStarting("b"));
  s.MarkRunning("b", 1, "/x/b");
  s.ForgetContainer("c1");  // keeps what still runs
  EXPECT_EQ(s.IdsOf("c1"), (std::vector<std::string>{"b"}));

  s.Finish("z", 0);
  auto now = std::chrono::steady_clock::now();
  s.Prune(now);
  EXPECT_EQ(s.size(), 2u);  // z finished just now
  s.Prune(now + ExecStore::kRetention + std::chrono::seconds(1));
  EXPECT_EQ(s.size(), 1u);  // b still runs
  EXPECT_FALSE(s.Get("z"));
}

}  // namespace
}  // namespace berth::daemon
