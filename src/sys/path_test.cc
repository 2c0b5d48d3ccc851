#include "sys/path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "sys/file.h"

namespace berth::sys {
namespace {

TEST(PathTest, CleanPath) {
  EXPECT_EQ(CleanPath("a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(CleanPath("../../etc"), "/etc");
  EXPECT_EQ(CleanPath(""), "/");
}

TEST(FileTest, WriteNewFileCreatesOnlyWhatIsNotThere) {
  char tmpl[] = "/tmp/berth-file-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(WriteNewFile(dir + "/a", "hello\n", 0600));
  EXPECT_EQ(ReadFile(dir + "/a").value_or(""), "hello\n");
  struct stat st;
  ASSERT_EQ(::stat((dir + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = WriteNewFile(dir + "/a", "other\n");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("File exists"), std::string::npos)
      << again.error().message();
  EXPECT_EQ(ReadFile(dir + "/a").value_or(""), "hello\n") << "an existing file was changed";
  EXPECT_FALSE(WriteNewFile(dir + "/missing/b", "x"));
  auto names = ListDir(dir);
  ASSERT_TRUE(names);
  EXPECT_EQ(names->size(), 1u) << "a temporary was left";
  ASSERT_TRUE(RemoveAll(dir));
}

class RootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-path-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(MkdirAll(dir_ + "/root/sub"));
    root_ = UniqueFd(::open((dir_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_)); }
  std::string dir_;
  UniqueFd root_;
};

TEST_F(RootTest, MkdirAllCreatesWhatIsMissingAndRefusesAFile) {
  EXPECT_TRUE(MkdirAll(dir_ + "/root/sub"));          // all there
  EXPECT_TRUE(MkdirAll(dir_ + "/root/sub/one"));      // the parent is there
  EXPECT_TRUE(MkdirAll(dir_ + "/root/a/b/c", 0700));  // several levels missing
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/root/a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(WriteFileReplace(dir_ + "/root/file", "x"));
  auto st1 = MkdirAll(dir_ + "/root/file");
  ASSERT_FALSE(st1);
  EXPECT_NE(st1.error().message().find("Not a directory"), std::string::npos)
      << st1.error().message();
  EXPECT_FALSE(MkdirAll(dir_ + "/root/file/below"));
}

// A symlink to "/" inside the root resolves to the root itself, never the host.
TEST_F(RootTest, SymlinkEscapeStaysInside) {
  ASSERT_EQ(::symlink("/", (dir_ + "/root/evil").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../..", (dir_ + "/root/sub/up").c_str()), 0);
  std::string host_target = dir_ + "-escape";
  auto fd = MkdirAllInRoot(root_.get(), "/evil" + host_target);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_FALSE(Exists(host_target));
  EXPECT_TRUE(Exists(dir_ + "/root" + host_target));
  auto fd2 = EnsureMountPointInRoot(root_.get(), "/sub/up/tmp/x-file", false);
  ASSERT_TRUE(fd2) << fd2.error().message();
  EXPECT_TRUE(Exists(dir_ + "/root/tmp/x-file"));
}

TEST_F(RootTest, OpenMissingIsNotFound) {
  auto fd = OpenInRoot(root_.get(), "/nope", O_RDONLY);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), base::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::sys
