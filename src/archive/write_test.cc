// WriteDiff / WriteTree: overlay whiteouts become OCI whiteouts and back, hardlinks by inode,
// xattrs, sorted deterministic output, mtime clamping, and a compressed end-to-end round trip.
#include "archive/write.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "archive/compression.h"
#include "archive/extract.h"
#include "archive/test_tar.h"
#include "sys/file.h"

namespace berth::archive {
namespace {

using testing::ListTar;
using testing::Scratch;
using testing::Snapshot;

void Write(const std::string& path, const std::string& data, mode_t mode = 0644) {
  ASSERT_TRUE(sys::WriteFileReplace(path, data, mode));
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// An upper dir as overlayfs leaves it after a container ran.
void MakeUpper(const Scratch& s) {
  ASSERT_TRUE(sys::MkdirAll(s.In("etc")));
  Write(s.In("etc/hosts"), "127.0.0.1 localhost\n");
  ASSERT_EQ(::mknod(s.In("etc/passwd").c_str(), S_IFCHR, makedev(0, 0)), 0);  // deleted
  ASSERT_TRUE(sys::MkdirAll(s.In("opt/app")));
  ASSERT_EQ(::setxattr(s.In("opt").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  Write(s.In("opt/app/run"), "#!/bin/sh\n", 04755);
  ASSERT_EQ(::chown(s.In("opt/app/run").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chmod(s.In("opt/app/run").c_str(), 04755), 0);
  ASSERT_EQ(::link(s.In("opt/app/run").c_str(), s.In("opt/app/run2").c_str()), 0);
  ASSERT_EQ(::link(s.In("opt/app/run").c_str(), s.In("etc/zz-link").c_str()), 0);
  ASSERT_EQ(::setxattr(s.In("etc/hosts").c_str(), "user.origin", "test", 4, 0), 0);
  ASSERT_EQ(::symlink("../etc/hosts", s.In("opt/hosts").c_str()), 0);
  ASSERT_EQ(::mkfifo(s.In("opt/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mknod(s.In("opt/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod(s.In("opt/null").c_str(), 0666), 0);
  struct timespec ts[2] = {{1'600'000'000, 5}, {1'600'000'000, 5}};
  for (const char* p : {"etc/hosts", "opt/app/run", "opt/fifo", "opt/null", "opt/app", "etc"})
    ASSERT_EQ(::utimensat(AT_FDCWD, s.In(p).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

std::string Diff(const Scratch& s, const DiffOptions& o = {}) {
  StringSink sink;
  auto r = WriteDiff(s.root_fd(), sink, o);
  EXPECT_TRUE(r) << r.error().message();
  return sink.Take();
}

TEST(WriteDiff, ConvertsOverlayWhiteoutsSortedAndHardlinked) {
  Scratch s;
  MakeUpper(s);
  std::string tar = Diff(s);
  EXPECT_EQ(ListTar(tar), (std::vector<std::string>{
                              "d etc/",
                              "f etc/hosts",
                              "f etc/.wh.passwd",
                              "f etc/zz-link",
                              "d opt/",
                              "f opt/.wh..wh..opq",
                              "d opt/app/",
                              "h opt/app/run",
                              "h opt/app/run2",
                              "p opt/fifo",
                              "l opt/hosts",
                              "c opt/null",
                          }))
      << "hardlink order: etc/zz-link is met first";
  EXPECT_EQ(tar, Diff(s)) << "not deterministic";
  EXPECT_EQ(tar.size() % 512, 0u);
}

TEST(WriteDiff, ReExtractsToTheSameTree) {
  Scratch s;
  MakeUpper(s);
  std::string tar = Diff(s);
  Scratch out;
  MemorySource src(tar);
  auto r = ExtractLayer(src, out.root_fd(), {});
  ASSERT_TRUE(r) << r.error().message();
  // Directory mtimes are compared too: they are applied after the contents.
  EXPECT_EQ(Snapshot(out.root()), Snapshot(s.root()));
  struct stat a, b;
  ASSERT_EQ(::lstat(out.In("etc/zz-link").c_str(), &a), 0);
  ASSERT_EQ(::lstat(out.In("opt/app/run").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(b.st_nlink, 3u);
}

TEST(WriteDiff, FlatApplyOfADiffDeletes) {
  Scratch lower;
  ASSERT_TRUE(sys::MkdirAll(lower.In("etc")));
  Write(lower.In("etc/passwd"), "root:x:0:0\n");
  ASSERT_TRUE(sys::MkdirAll(lower.In("opt/old")));
  Scratch upper;
  MakeUpper(upper);
  std::string tar = Diff(upper);
  MemorySource src(tar);
  ExtractOptions flat;
  flat.overlay_whiteouts = false;
  auto r = ExtractLayer(src, lower.root_fd(), flat);
  ASSERT_TRUE(r) << r.error().message();
  struct stat st;
  EXPECT_NE(::lstat(lower.In("etc/passwd").c_str(), &st), 0);
  EXPECT_NE(::lstat(lower.In("opt/old").c_str(), &st), 0);
  EXPECT_EQ(::lstat(lower.In("opt/app/run").c_str(), &st), 0);
}

TEST(WriteDiff, MtimeClampAndSelinuxFilter) {
  Scratch s;
  Write(s.In("new"), "x");
  Write(s.In("old"), "y");
  struct timespec old_ts[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, s.In("old").c_str(), old_ts, 0), 0);
  ::setxattr(s.In("new").c_str(), "security.selinux", "x_u:y_r:z_t:s0", 14, 0);
  DiffOptions o;
  o.mtime_clamp = timespec{5000, 0};
  Scratch out;
  std::string tar = Diff(s, o);
  MemorySource src(tar);
  ASSERT_TRUE(ExtractLayer(src, out.root_fd(), {}));
  struct stat st;
  ASSERT_EQ(::lstat(out.In("new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 5000);
  ASSERT_EQ(::lstat(out.In("old").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000);
  char buf[64];
  ssize_t n = ::lgetxattr(out.In("new").c_str(), "security.selinux", buf, sizeof buf);
  // Either the label was dropped, or the host's SELinux assigned its own (never ours).
  EXPECT_TRUE(n < 0 || std::string(buf, static_cast<size_t>(n)).find("x_u") == std::string::npos);
}

TEST(WriteTree, KeepsCharDevicesAndOpaqueXattrsAsIs) {
  Scratch s;
  ASSERT_EQ(::mknod(s.In("c00").c_str(), S_IFCHR, makedev(0, 0)), 0);
  ASSERT_TRUE(sys::MkdirAll(s.In("d")));
  ASSERT_EQ(::setxattr(s.In("d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  StringSink sink;
  ASSERT_TRUE(WriteTree(s.root_fd(), sink));
  EXPECT_EQ(ListTar(sink.data()), (std::vector<std::string>{"c c00", "d d/"}));
}

TEST(WriteDiff, GzipAndZstdEndToEndWithDiffId) {
  Scratch s;
  MakeUpper(s);
  std::string big(3 << 20, 'b');
  Write(s.In("big"), big);
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    StringSink blob;
    std::string written_tar;
    CompressingSink z(blob, c, CompressingSink::kDefaultLevel,
                      {nullptr, [&](const void* p, size_t n) {
                         written_tar.append(static_cast<const char*>(p), n);
                       }});
    ASSERT_TRUE(WriteDiff(s.root_fd(), z));
    ASSERT_TRUE(z.Close());
    EXPECT_LT(blob.data().size(), big.size() / 10);

    std::string read_tar;
    MemorySource in(blob.data());
    DecompressingSource d(in, {nullptr, [&](const void* p, size_t n) {
                                 read_tar.append(static_cast<const char*>(p), n);
                               }});
    Scratch out;
    auto r = ExtractLayer(d, out.root_fd(), {});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(read_tar, written_tar) << "diff_id input differs";
    EXPECT_EQ(r->tar_bytes, written_tar.size());
    EXPECT_EQ(Snapshot(out.root()), Snapshot(s.root()));
  }
}

}  // namespace
}  // namespace berth::archive
