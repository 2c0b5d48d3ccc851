// berth-shim flag parsing and detach keys.
#include "shim/options.h"

#include <gtest/gtest.h>

namespace berth::shim {
namespace {

std::vector<std::string> Required() {
  return {"--id", "c1", "--bundle", "/b", "--state-dir", "/s", "--runtime-root=/r"};
}

TEST(ShimOptions, ParsesAll) {
  auto args = Required();
  for (const char* a : {"--tty", "--stdin", "--stdin-once", "--log-path", "/l", "--log-max-size",
                        "100", "--log-max-file=3", "--keep", "--auto-remove", "--detach-keys",
                        "ctrl-a", "--prelaunch", "--prelaunch-cgroups", "/berth-c1"})
    args.push_back(a);
  auto o = ParseOptions(args);
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->id, "c1");
  EXPECT_EQ(o->bundle, "/b");
  EXPECT_EQ(o->state_dir, "/s");
  EXPECT_EQ(o->runtime_root, "/r");
  EXPECT_TRUE(o->tty && o->stdin && o->stdin_once && o->keep && o->auto_remove);
  EXPECT_FALSE(o->foreground);
  EXPECT_EQ(o->log_path, "/l");
  EXPECT_EQ(o->log_max_size, 100);
  EXPECT_EQ(o->log_max_file, 3);
  EXPECT_TRUE(o->prelaunch);
  EXPECT_EQ(o->prelaunch_cgroups, "/berth-c1");
}

TEST(ShimOptions, Rejects) {
  EXPECT_FALSE(ParseOptions({"--id", "x"}));
  auto args = Required();
  args.push_back("--bogus");
  EXPECT_FALSE(ParseOptions(args));
  args = Required();
  args.push_back("--log-max-size");
  EXPECT_FALSE(ParseOptions(args));
  args = Required();
  args.insert(args.end(), {"--log-max-file", "0"});
  EXPECT_FALSE(ParseOptions(args));
  args = Required();
  args.insert(args.end(), {"--detach-keys", "ctrl-1"});
  EXPECT_FALSE(ParseOptions(args));
  args = Required();
  args.insert(args.end(), {"--prelaunch-cgroups", "/berth-c1"});  // without --prelaunch
  EXPECT_FALSE(ParseOptions(args));
}

TEST(ShimOptions, ExecMode) {
  auto o =
      ParseOptions({"--exec", "--id", "c1", "--process", "p.json", "--state-dir", "/x/ab",
                    "--runtime-root", "/r", "--tty", "--stdin", "--stdin-once", "--detach-keys="});
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_TRUE(o->exec);
  EXPECT_EQ(o->id, "c1");
  EXPECT_EQ(o->process, "p.json");
  EXPECT_EQ(o->bundle, "");
  EXPECT_TRUE(o->tty && o->stdin && o->stdin_once);
  EXPECT_EQ(o->detach_keys, "");
  ASSERT_TRUE(MakeAbsolute(*o));
  EXPECT_EQ(o->process[0], '/');
  EXPECT_EQ(o->process.substr(o->process.size() - 7), "/p.json");

  o = ParseOptions(
      {"--exec=true", "--id=c1", "--process=/p", "--state-dir=/s", "--runtime-root=/r"});
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_TRUE(o->exec);
  EXPECT_FALSE(o->tty);
}

TEST(ShimOptions, ExecModeRejects) {
  // No process.
  auto o = ParseOptions({"--exec", "--id", "c1", "--state-dir", "/s", "--runtime-root", "/r"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message().find("--process"), std::string::npos) << o.error().message();
  // A bundle or a log belongs to the container's shim.
  EXPECT_FALSE(ParseOptions({"--exec", "--id", "c1", "--process", "/p", "--bundle", "/b",
                             "--state-dir", "/s", "--runtime-root", "/r"}));
  EXPECT_FALSE(ParseOptions({"--exec", "--id", "c1", "--process", "/p", "--log-path", "/l",
                             "--state-dir", "/s", "--runtime-root", "/r"}));
  // A process without --exec, and container mode without a bundle.
  auto args = Required();
  args.insert(args.end(), {"--process", "/p"});
  EXPECT_FALSE(ParseOptions(args));
  o = ParseOptions({"--id", "c1", "--state-dir", "/s", "--runtime-root", "/r"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message().find("--bundle"), std::string::npos) << o.error().message();
  EXPECT_FALSE(ParseOptions({"--exec=maybe", "--id", "c1", "--process", "/p", "--state-dir", "/s",
                             "--runtime-root", "/r"}));
}

TEST(ShimOptions, DetachKeys) {
  EXPECT_EQ(*ParseDetachKeys("ctrl-p,ctrl-q"), "\x10\x11");
  EXPECT_EQ(*ParseDetachKeys("a,ctrl-[,b"),
            "a\x1b"
            "b");
  EXPECT_EQ(*ParseDetachKeys(""), "");
  EXPECT_FALSE(ParseDetachKeys("ctrl-pp"));
}

}  // namespace
}  // namespace berth::shim
