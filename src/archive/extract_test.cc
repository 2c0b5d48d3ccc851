// ExtractLayer: hostile archives stay confined to the root (or fail with a clear error) and leave
// the sentinel next to the root untouched; ordinary layers keep every kind of metadata.
#include "archive/extract.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "archive/test_tar.h"
#include "sys/file.h"

namespace berth::archive {
namespace {

using testing::BuildTar;
using testing::Dir;
using testing::File;
using testing::Hardlink;
using testing::Member;
using testing::Node;
using testing::Scratch;
using testing::Symlink;

base::Result<ExtractStats> Extract(const Scratch& s, const std::string& tar,
                                   ExtractOptions options = {}) {
  MemorySource src(tar);
  return ExtractLayer(src, s.root_fd(), options);
}

ExtractOptions Flat() {
  ExtractOptions o;
  o.overlay_whiteouts = false;
  return o;
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

bool Missing(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}

std::string Xattr(const std::string& path, const char* key) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), key, buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

// A name no host will have, so "it does not exist on the host" means we did not write it.
const std::string kEscape = "berth-escape-" + std::to_string(::getpid());

// ---- hostile archives -----------------------------------------------------------------------

TEST(ExtractHostile, DotDotIsRejected) {
  Scratch s;
  auto r = Extract(s, BuildTar({File("a/../../../etc/" + kEscape, "x")}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("breakout"), std::string::npos) << r.error().message();
  EXPECT_TRUE(Missing("/etc/" + kEscape));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, DotDotToSiblingIsRejected) {
  Scratch s;
  EXPECT_FALSE(Extract(s, BuildTar({File("../sentinel/keep", "pwned")})));
  EXPECT_FALSE(Extract(s, BuildTar({File("../sentinel/new", "pwned")})));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, AbsolutePathIsConfined) {
  Scratch s;
  ASSERT_TRUE(Extract(s, BuildTar({File("/etc/" + kEscape, "x")})));
  EXPECT_EQ(*sys::ReadFile(s.In("etc/" + kEscape)), "x");
  EXPECT_TRUE(Missing("/etc/" + kEscape));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, SymlinkToRootThenFileThroughIt) {
  Scratch s;
  auto r = Extract(s, BuildTar({Symlink("evil", "/"), File("evil/etc/" + kEscape, "x"),
                                File("evil/../../sentinel/pwned", "x")}));
  // The third member is a lexical breakout; the first two landed inside the root.
  ASSERT_FALSE(r);
  EXPECT_EQ(*sys::ReadFile(s.In("etc/" + kEscape)), "x");
  EXPECT_TRUE(Missing("/etc/" + kEscape));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, RelativeSymlinkClimbingOutIsClamped) {
  Scratch s;
  ASSERT_TRUE(Extract(s, BuildTar({Dir("a/"), Symlink("a/up", "../../.."),
                                   File("a/up/sentinel/pwned", "x"), File("a/up/keep", "y")})));
  EXPECT_EQ(*sys::ReadFile(s.In("sentinel/pwned")), "x");
  EXPECT_EQ(*sys::ReadFile(s.In("keep")), "y");
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, FileOverSymlinkReplacesTheLink) {
  Scratch s;
  std::string before = *sys::ReadFile("/etc/hostname");
  ASSERT_TRUE(Extract(s, BuildTar({Symlink("f", "/etc/hostname"), File("f", "new")})));
  EXPECT_TRUE(S_ISREG(Lstat(s.In("f")).st_mode));
  EXPECT_EQ(*sys::ReadFile(s.In("f")), "new");
  EXPECT_EQ(*sys::ReadFile("/etc/hostname"), before);
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, HardlinkToSymlinkLinksTheSymlinkItself) {
  Scratch s;
  struct stat shadow = Lstat("/etc/passwd");
  auto r = Extract(s, BuildTar({Symlink("p", "/etc/passwd"), Hardlink("h", "p")}));
  // linkat without AT_SYMLINK_FOLLOW links the symlink itself.
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(S_ISLNK(Lstat(s.In("h")).st_mode));
  EXPECT_EQ(Lstat("/etc/passwd").st_nlink, shadow.st_nlink);
}

TEST(ExtractHostile, HardlinkToAbsoluteHostFileResolvesInRoot) {
  Scratch s;
  struct stat before = Lstat("/etc/passwd");
  auto r = Extract(s, BuildTar({Hardlink("h", "/etc/passwd")}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kNotFound) << r.error().message();
  EXPECT_EQ(Lstat("/etc/passwd").st_nlink, before.st_nlink);
  // With an /etc/passwd inside the root, the link goes to that one.
  ASSERT_TRUE(Extract(s, BuildTar({File("etc/passwd", "inner"), Hardlink("h", "/etc/passwd")})));
  EXPECT_EQ(Lstat(s.In("h")).st_ino, Lstat(s.In("etc/passwd")).st_ino);
  EXPECT_EQ(Lstat("/etc/passwd").st_nlink, before.st_nlink);
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, HardlinkOutsideIsRejected) {
  Scratch s;
  auto r = Extract(s, BuildTar({Hardlink("h", "../sentinel/keep")}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("breakout"), std::string::npos) << r.error().message();
  EXPECT_EQ(Lstat(s.base() + "/sentinel/keep").st_nlink, 1u);
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, HardlinkThroughSymlinkedDirStaysInside) {
  Scratch s;
  auto r = Extract(s, BuildTar({Symlink("evil", "../sentinel"), Hardlink("h", "evil/keep")}));
  ASSERT_FALSE(r);  // "evil" resolves to <root>/sentinel, which does not exist
  EXPECT_EQ(Lstat(s.base() + "/sentinel/keep").st_nlink, 1u);
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, BadWhiteoutNamesAreRejected) {
  for (bool overlay : {true, false}) {
    for (std::string name : {".wh...", ".wh..", ".wh.", "a/.wh...", "../.wh.sentinel"}) {
      Scratch s;
      ExtractOptions o;
      o.overlay_whiteouts = overlay;
      auto r = Extract(s, BuildTar({Dir("a/"), File(name, "")}), o);
      EXPECT_FALSE(r) << name;
      if (!r) {
        EXPECT_EQ(r.error().code(), base::ErrorCode::kInvalidArgument) << name;
      }
      s.ExpectSentinelIntact();
    }
  }
}

TEST(ExtractHostile, WhiteoutThroughSymlinkStaysInside) {
  Scratch s;
  ASSERT_TRUE(Extract(s,
                      BuildTar({Symlink("s", "../../sentinel"), File("s/.wh.keep", ""),
                                Symlink("up", "../.."), File("up/.wh..wh..opq", "")}),
                      Flat()));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, VeryLongPathsFailCleanly) {
  Scratch s;
  std::string long_component(300, 'a');
  auto r = Extract(s, BuildTar({File(long_component, "x")}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("too long"), std::string::npos) << r.error().message();
  std::string deep;
  for (int i = 0; i < 2100; ++i) deep += "d/";
  r = Extract(s, BuildTar({File(deep + "f", "x")}));
  EXPECT_FALSE(r);
  std::string ok;
  for (int i = 0; i < 1000; ++i) ok += "d/";
  r = Extract(s, BuildTar({File(ok + "f", "x")}));
  EXPECT_TRUE(r) << r.error().message();
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, DirReplacedBySymlinkThenFileUnderIt) {
  Scratch s;
  auto r = Extract(s, BuildTar({Dir("d/"), File("d/inner", "1"), Symlink("d", "../../sentinel"),
                                File("d/pwned", "x")}));
  // "d" now points at <root>/sentinel, which does not exist: fail rather than write elsewhere.
  EXPECT_FALSE(r);
  EXPECT_TRUE(S_ISLNK(Lstat(s.In("d")).st_mode));
  s.ExpectSentinelIntact();

  Scratch s2;
  ASSERT_TRUE(Extract(
      s2, BuildTar({Dir("d/"), File("d/inner", "1"), Symlink("d", "/"), File("d/pwned", "x")})));
  EXPECT_EQ(*sys::ReadFile(s2.In("pwned")), "x");
  EXPECT_TRUE(Missing("/pwned"));
  s2.ExpectSentinelIntact();
}

TEST(ExtractHostile, RootMemberMustBeADirectory) {
  Scratch s;
  EXPECT_FALSE(Extract(s, BuildTar({Symlink("./", "/")})));
  EXPECT_FALSE(Extract(s, BuildTar({File(".", "x")})));
  s.ExpectSentinelIntact();
}

TEST(ExtractHostile, GarbageAndTruncationFail) {
  Scratch s;
  EXPECT_FALSE(Extract(s, std::string(2000, 'x')));
  std::string tar = BuildTar({File("big", std::string(100000, 'z'))});
  EXPECT_FALSE(Extract(s, tar.substr(0, 5000)));
  s.ExpectSentinelIntact();
}

// ---- ordinary layers ------------------------------------------------------------------------

TEST(Extract, FilesDirsModesOwnershipTimes) {
  Scratch s;
  Member f = File("usr/bin/tool", "#!/bin/sh\n", 04755);
  f.uid = 1234;
  f.gid = 5678;
  f.mtime = 1'500'000'000;
  f.mtime_nsec = 123456789;
  Member d = Dir("usr/", 0750);
  d.mtime = 1'400'000'000;
  Member sticky = Dir("tmp/", 01777);
  Member l = Symlink("usr/bin/alias", "tool");
  l.uid = 7;
  l.mtime = 1'300'000'000;
  auto r = Extract(s, BuildTar({d, Dir("usr/bin/"), f, l, sticky}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->entries, 5u);
  EXPECT_EQ(r->files, 1u);
  EXPECT_EQ(r->dirs, 3u);
  EXPECT_EQ(r->symlinks, 1u);
  EXPECT_EQ(r->bytes, 10u);

  struct stat st = Lstat(s.In("usr/bin/tool"));
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid survives the chown
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  st = Lstat(s.In("usr"));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'400'000'000);  // set after its contents were created
  EXPECT_EQ(Lstat(s.In("tmp")).st_mode & 07777, 01777u);
  st = Lstat(s.In("usr/bin/alias"));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'300'000'000);
}

TEST(Extract, RootMemberSetsRootMetadata) {
  Scratch s;
  Member root = Dir("./", 0711);
  root.mtime = 1'234'567'890;
  ASSERT_TRUE(Extract(s, BuildTar({root, File("./a", "1")})));
  struct stat st = Lstat(s.root());
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'234'567'890);
}

TEST(Extract, XattrsKeptAndFiltered) {
  Scratch s;
  Member f = File("bin/ping", "elf", 0755);
  f.uid = 1000;
  // VFS_CAP_REVISION_2 with cap_net_raw (bit 13) permitted and effective.
  std::string cap(
      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  f.xattrs = {{"security.capability", cap},
              {"user.note", "hello"},
              {"trusted.overlay.redirect", "/etc"},
              {"security.selinux", "system_u:object_r:bin_t:s0"}};
  Member d = Dir("d/");
  d.xattrs = {{"user.dir", "1"}};
  auto r = Extract(s, BuildTar({f, d}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(Xattr(s.In("bin/ping"), "security.capability"), cap);
  EXPECT_EQ(Xattr(s.In("bin/ping"), "user.note"), "hello");
  EXPECT_EQ(Xattr(s.In("bin/ping"), "trusted.overlay.redirect"), "<none>");
  EXPECT_EQ(Lstat(s.In("bin/ping")).st_uid, 1000u);
  EXPECT_EQ(Xattr(s.In("d"), "user.dir"), "1");
  EXPECT_GE(r->xattrs_skipped, 2u);

  Scratch s2;
  ExtractOptions o;
  o.allow_trusted_xattrs = true;
  ASSERT_TRUE(Extract(s2, BuildTar({f}), o));
  EXPECT_EQ(Xattr(s2.In("bin/ping"), "trusted.overlay.redirect"), "/etc");
}

TEST(Extract, HardlinksShareAnInode) {
  Scratch s;
  auto r = Extract(s, BuildTar({File("a", "data"), Dir("sub/"), Hardlink("sub/b", "a"),
                                Hardlink("c", "./sub/b")}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->hardlinks, 2u);
  struct stat a = Lstat(s.In("a"));
  EXPECT_EQ(a.st_nlink, 3u);
  EXPECT_EQ(Lstat(s.In("sub/b")).st_ino, a.st_ino);
  EXPECT_EQ(Lstat(s.In("c")).st_ino, a.st_ino);
}

TEST(Extract, DevicesAndFifos) {
  Scratch s;
  Member null = Node("dev/null", AE_IFCHR, 1, 3, 0666);
  Member loop = Node("dev/loop0", AE_IFBLK, 7, 0, 0660);
  loop.gid = 6;
  Member fifo = Node("run/fifo", AE_IFIFO, 0, 0, 0620);
  auto r = Extract(s, BuildTar({null, loop, fifo}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->devices, 3u);
  struct stat st = Lstat(s.In("dev/null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);  // not narrowed by the umask
  st = Lstat(s.In("dev/loop0"));
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 0));
  EXPECT_EQ(st.st_gid, 6u);
  st = Lstat(s.In("run/fifo"));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
}

TEST(Extract, OverlayWhiteouts) {
  Scratch s;
  auto r = Extract(s, BuildTar({Dir("etc/"), File("etc/.wh.passwd", ""), Dir("opt/"),
                                File("opt/.wh..wh..opq", ""), File("opt/new", "n"),
                                File(".wh..wh.plnk/123", "aufs"), File("x/.wh..wh.aufs", "")}));
  ASSERT_TRUE(r) << r.error().message();
  struct stat st = Lstat(s.In("etc/passwd"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(Xattr(s.In("opt"), "trusted.overlay.opaque"), "y");
  EXPECT_EQ(Xattr(s.In("opt"), "user.overlay.opaque"), "<none>");
  EXPECT_EQ(*sys::ReadFile(s.In("opt/new")), "n");
  EXPECT_TRUE(Missing(s.In("opt/.wh..wh..opq")));
  EXPECT_TRUE(Missing(s.In(".wh..wh.plnk")));
  EXPECT_EQ(r->whiteouts, 3u);
  EXPECT_EQ(r->devices, 0u);

  Scratch s2;
  ExtractOptions o;
  o.user_opaque_xattr = true;
  o.trusted_opaque_xattr = false;
  ASSERT_TRUE(Extract(s2, BuildTar({File("opt/.wh..wh..opq", "")}), o));
  EXPECT_EQ(Xattr(s2.In("opt"), "user.overlay.opaque"), "y");
  EXPECT_EQ(Xattr(s2.In("opt"), "trusted.overlay.opaque"), "<none>");
}

TEST(Extract, FlatWhiteoutsDelete) {
  Scratch s;
  ASSERT_TRUE(Extract(s, BuildTar({File("etc/passwd", "root"), File("etc/group", "g"), Dir("opt/"),
                                   File("opt/old", "o"), Dir("opt/sub/"), File("opt/sub/deep", "d"),
                                   File("keep", "k")})));
  auto r = Extract(
      s,
      BuildTar({File("etc/.wh.passwd", ""), File(".wh.nothing-there", ""),
                File("missing/.wh.x", ""), Dir("opt/"), Dir("opt/sub/"), File("opt/sub/new", "n"),
                File("opt/.wh..wh..opq", ""), File("opt/later", "l")}),
      Flat());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(Missing(s.In("etc/passwd")));
  EXPECT_EQ(*sys::ReadFile(s.In("etc/group")), "g");
  EXPECT_TRUE(Missing(s.In("opt/old")));
  EXPECT_TRUE(Missing(s.In("opt/sub/deep")));  // below a directory this layer re-declared
  EXPECT_EQ(*sys::ReadFile(s.In("opt/sub/new")), "n");
  EXPECT_EQ(*sys::ReadFile(s.In("opt/later")), "l");
  EXPECT_EQ(*sys::ReadFile(s.In("keep")), "k");
  EXPECT_EQ(Xattr(s.In("opt"), "trusted.overlay.opaque"), "<none>");
  EXPECT_TRUE(Missing(s.In("missing")));
}

TEST(Extract, ReplacementFollowsDocker) {
  Scratch s;
  ASSERT_TRUE(Extract(s, BuildTar({Dir("d/"), File("d/a", "1"), File("f", "file"), Dir("keep/"),
                                   File("keep/x", "x")})));
  ASSERT_TRUE(Extract(s, BuildTar({File("d", "now a file"), Dir("f/"), Dir("keep/", 0700)})));
  EXPECT_EQ(*sys::ReadFile(s.In("d")), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat(s.In("f")).st_mode));
  EXPECT_EQ(*sys::ReadFile(s.In("keep/x")), "x");  // dir over dir keeps the contents
  EXPECT_EQ(Lstat(s.In("keep")).st_mode & 07777, 0700u);
}

TEST(Extract, SparseFilesFromGnuTar) {
  for (const char* format : {"gnu", "posix"}) {
    Scratch src;
    std::string file = src.In("sparse");
    {
      sys::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT, 0644));
      ASSERT_TRUE(fd);
      ASSERT_EQ(::pwrite(fd.get(), "head", 4, 0), 4);
      ASSERT_EQ(::pwrite(fd.get(), "middle", 6, 8 << 20), 6);
      ASSERT_EQ(::ftruncate(fd.get(), 32 << 20), 0);
    }
    std::string tar = src.base() + "/s.tar";
    std::string cmd =
        fmt::format("tar --format={} -S -C {} -cf {} sparse", format, src.root(), tar);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::string data = *sys::ReadFile(tar);
    EXPECT_LT(data.size(), 64u * 1024) << format;

    Scratch s;
    auto r = Extract(s, data);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_LE(r->bytes, 16384u) << format;  // tar(1) maps data in filesystem blocks
    struct stat st = Lstat(s.In("sparse"));
    EXPECT_EQ(st.st_size, 32 << 20);
    EXPECT_LT(st.st_blocks * 512, 1 << 20) << format << ": holes were written as data";
    EXPECT_EQ(*sys::ReadFile(s.In("sparse")), *sys::ReadFile(file)) << format;
  }
}

TEST(Extract, GnuTarLongNamesAndPaxUtf8) {
  Scratch src;
  std::string longname(200, 'n');
  ASSERT_TRUE(sys::MkdirAll(src.In("dir/" + longname)));
  ASSERT_TRUE(sys::WriteFileReplace(src.In("dir/" + longname + "/f\xc3\xa9"), "utf8"));
  ASSERT_EQ(::symlink(longname.c_str(), src.In("dir/link").c_str()), 0);
  std::string tar = src.base() + "/l.tar";
  for (const char* format : {"gnu", "posix"}) {
    std::string cmd = fmt::format("tar --format={} -C {} -cf {} dir", format, src.root(), tar);
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    Scratch s;
    auto r = Extract(s, *sys::ReadFile(tar));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*sys::ReadFile(s.In("dir/" + longname + "/f\xc3\xa9")), "utf8") << format;
    EXPECT_EQ(testing::Snapshot(s.In("dir"), false), testing::Snapshot(src.In("dir"), false));
  }
}

TEST(Extract, EmptyStreamAndTrailingBytesAreConsumed) {
  Scratch s;
  auto r = Extract(s, "");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->entries, 0u);

  std::string tar = BuildTar({File("a", "1")}) + std::string(4096, '\0');
  MemorySource src(tar);
  r = ExtractLayer(src, s.root_fd(), {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->tar_bytes, tar.size());
  char c;
  EXPECT_EQ(*src.Read(&c, 1), 0u);
}

}  // namespace
}  // namespace berth::archive
