// ShimPool's seccomp hint file (NoteSeccompProfile): written when the profile changes, kept
// otherwise, removed with the pool. Spawning standbys needs a berth-shim binary: the
// integration tests cover that.
#include "daemon/shim_pool.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::daemon {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

TEST(ShimPoolTest, TheSeccompHintIsWrittenWhenTheProfileChanges) {
  char tmpl[] = "/tmp/berth-shim-pool-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, hint = dir + "/seccomp-hint.json";
  {
    ShimPool pool("/nonexistent/berth-shim", "berth-shim", hint);
    pool.NoteSeccompProfile("");  // no profile: nothing to hint
    EXPECT_FALSE(fs::exists(hint));
    pool.NoteSeccompProfile("{\"defaultAction\": \"SCMP_ACT_ERRNO\"}");
    EXPECT_EQ(Read(hint), "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}");
    EXPECT_EQ(fs::status(hint).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    ino_t first = Inode(hint);
    pool.NoteSeccompProfile("{\"defaultAction\": \"SCMP_ACT_ERRNO\"}");
    EXPECT_EQ(Inode(hint), first) << "the same profile again rewrote the file";
    pool.NoteSeccompProfile("{\"defaultAction\": \"SCMP_ACT_LOG\"}");
    EXPECT_EQ(Read(hint), "{\"defaultAction\": \"SCMP_ACT_LOG\"}");
  }
  EXPECT_FALSE(fs::exists(hint)) << "the pool left its hint behind";
  // Without a hint path the pool keeps none.
  {
    ShimPool pool("/nonexistent/berth-shim", "berth-shim");
    pool.NoteSeccompProfile("{}");
  }
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::daemon
