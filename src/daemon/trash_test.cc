#include "daemon/trash.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace berth::daemon {
namespace {

namespace fs = std::filesystem;

class TrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-trash-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small tree like a container's state dir: files, a subdirectory, a symlink.
  void MakeTree(const std::string& root) {
    fs::create_directories(root + "/sub/deeper");
    std::ofstream(root + "/a") << "a";
    std::ofstream(root + "/sub/deeper/b") << "b";
    fs::create_symlink("/etc/passwd", root + "/sub/link");
  }

  std::string dir_;
};

TEST_F(TrashTest, DiscardedTreeLeavesItsPathAtOnceAndIsRemovedInTheBackground) {
  auto trash = Trash::Open({dir_ + "/trash"});
  ASSERT_TRUE(trash) << trash.error().message();
  MakeTree(dir_ + "/c1");
  MakeTree(dir_ + "/c2");
  ASSERT_TRUE((*trash)->Discard(dir_ + "/c1"));
  EXPECT_FALSE(fs::exists(dir_ + "/c1"));
  ASSERT_TRUE((*trash)->Discard(dir_ + "/c2"));
  EXPECT_FALSE(fs::exists(dir_ + "/c2"));
  (*trash)->Drain();
  EXPECT_TRUE(fs::is_empty(dir_ + "/trash"));
  EXPECT_TRUE(fs::exists("/etc/passwd"));  // a symlink in the tree is removed, not followed
}

TEST_F(TrashTest, MissingPathIsSuccess) {
  auto trash = Trash::Open({dir_ + "/trash"});
  ASSERT_TRUE(trash);
  EXPECT_TRUE((*trash)->Discard(dir_ + "/never-was"));
  (*trash)->Drain();
}

TEST_F(TrashTest, OpenRemovesWhatAnEarlierRunLeft) {
  // A crash after the rename: the tree sits in the trash directory.
  MakeTree(dir_ + "/trash/1234-7-c1");
  auto trash = Trash::Open({dir_ + "/trash"});
  ASSERT_TRUE(trash);
  (*trash)->Drain();
  EXPECT_TRUE(fs::is_empty(dir_ + "/trash"));
  // Names left by a run with the same pid are skipped, not overwritten.
  MakeTree(dir_ + "/c1");
  ASSERT_TRUE((*trash)->Discard(dir_ + "/c1"));
  (*trash)->Drain();
  EXPECT_FALSE(fs::exists(dir_ + "/c1"));
  EXPECT_TRUE(fs::is_empty(dir_ + "/trash"));
}

TEST_F(TrashTest, TreeOnAnotherFilesystemIsRemovedInPlace) {
  // /dev/shm is a tmpfs: the rename into a trash dir under /tmp fails with EXDEV (or, where
  // /tmp is a tmpfs too, succeeds); the tree is gone either way.
  struct stat a, b;
  ASSERT_EQ(stat("/dev/shm", &a), 0);
  ASSERT_EQ(stat(dir_.c_str(), &b), 0);
  char tmpl[] = "/dev/shm/berth-trash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string other = tmpl;
  MakeTree(other + "/c1");
  auto trash = Trash::Open({dir_ + "/trash"});
  ASSERT_TRUE(trash);
  EXPECT_TRUE((*trash)->Discard(other + "/c1"));
  EXPECT_FALSE(fs::exists(other + "/c1"));
  (*trash)->Drain();
  EXPECT_TRUE(fs::is_empty(dir_ + "/trash"));
  if (a.st_dev != b.st_dev) {
    EXPECT_TRUE(fs::is_empty(other));
  }
  fs::remove_all(other);
}

TEST_F(TrashTest, SecondDirectoryServesItsOwnFilesystem) {
  char tmpl[] = "/dev/shm/berth-trash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string other = tmpl;
  auto trash = Trash::Open({dir_ + "/trash", other + "/trash"});
  ASSERT_TRUE(trash);
  MakeTree(other + "/c1");
  MakeTree(dir_ + "/c2");
  EXPECT_TRUE((*trash)->Discard(other + "/c1"));
  EXPECT_TRUE((*trash)->Discard(dir_ + "/c2"));
  EXPECT_FALSE(fs::exists(other + "/c1"));
  EXPECT_FALSE(fs::exists(dir_ + "/c2"));
  (*trash)->Drain();
  EXPECT_TRUE(fs::is_empty(dir_ + "/trash"));
  EXPECT_TRUE(fs::is_empty(other + "/trash"));
  fs::remove_all(other);
}

}  // namespace
}  // namespace berth::daemon
