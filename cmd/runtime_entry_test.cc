// The command-line scan that berth-runtime's entry point runs before the C library starts
// (runtime_entry.h): which word is the command, and which commands re-execute sealed.
#include "runtime_entry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::string Word(std::vector<std::string> args) {
  args.insert(args.begin(), "berth-runtime");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* w = BerthRuntimeCommandWord(static_cast<int>(args.size()), argv.data());
  return w ? w : "<none>";
}

TEST(RuntimeEntryTest, FindsTheCommandAfterGlobalOptions) {
  EXPECT_EQ(Word({"run", "-b", "x", "id"}), "run");
  EXPECT_EQ(Word({"--root", "/r", "create", "id"}), "create");
  EXPECT_EQ(Word({"--root=/r", "exec", "id", "sh"}), "exec");
  EXPECT_EQ(Word({"--debug", "--log", "/l", "--log-format", "json", "--systemd-cgroup", "state"}),
            "state");
  EXPECT_EQ(Word({"--log-format=json", "--criu", "c", "--rootless", "false", "kill"}), "kill");
}

TEST(RuntimeEntryTest, LeavesOptionsItDoesNotKnowToTheParser) {
  EXPECT_EQ(Word({}), "<none>");
  EXPECT_EQ(Word({"--help"}), "<none>");
  EXPECT_EQ(Word({"--version", "run"}), "<none>");
  EXPECT_EQ(Word({"--rooted", "run"}), "<none>");
  EXPECT_EQ(Word({"--roo=x", "run"}), "<none>");
  EXPECT_EQ(Word({"", "run"}), "<none>");
  EXPECT_EQ(Word({"--root"}), "<none>");
}

TEST(RuntimeEntryTest, OnlyCommandsThatExecInAContainerSeal) {
  EXPECT_TRUE(BerthRuntimeCommandSeals("create"));
  EXPECT_TRUE(BerthRuntimeCommandSeals("run"));
  EXPECT_TRUE(BerthRuntimeCommandSeals("exec"));
  EXPECT_FALSE(BerthRuntimeCommandSeals("start"));
  EXPECT_FALSE(BerthRuntimeCommandSeals("runx"));
  EXPECT_FALSE(BerthRuntimeCommandSeals("ru"));
  EXPECT_FALSE(BerthRuntimeCommandSeals(nullptr));
}

}  // namespace
