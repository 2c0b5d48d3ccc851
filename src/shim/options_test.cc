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
                        "100", "--log-max-file=3", "--keep", "--detach-keys", "ctrl-a",
                        "--attach-fd", "3", "--attach-fd=4"})
    args.push_back(a);
  auto o = ParseOptions(args);
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->id, "c1");
  EXPECT_EQ(o->bundle, "/b");
  EXPECT_EQ(o->state_dir, "/s");
  EXPECT_EQ(o->runtime_root, "/r");
  EXPECT_TRUE(o->tty && o->stdin && o->stdin_once && o->keep);
  EXPECT_FALSE(o->foreground);
  EXPECT_EQ(o->log_path, "/l");
  EXPECT_EQ(o->log_max_size, 100);
  EXPECT_EQ(o->log_max_file, 3);
  EXPECT_EQ(o->attach_fds, (std::vector<int>{3, 4}));
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
  args.insert(args.end(), {"--attach-fd", "2"});  // stdio is not a client
  EXPECT_FALSE(ParseOptions(args));
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
