// Test-only helpers for berth_archive's tests: an in-memory tar builder on libarchive's writer
// (which, unlike tar(1), writes hostile names verbatim), a scratch directory with a sentinel
// next to the extraction root, and a tree snapshot for comparing extracted trees.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::archive::testing {

struct Member {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;
  mode_t perm = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  time_t mtime = 1'600'000'000;
  long mtime_nsec = 0;
  std::string link;  // symlink target or, with hardlink = true, the hardlink target
  bool hardlink = false;
  unsigned dev_major = 0;
  unsigned dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

inline Member File(std::string path, std::string content, mode_t perm = 0644) {
  Member m;
  m.path = std::move(path);
  m.content = std::move(content);
  m.perm = perm;
  return m;
}
inline Member Dir(std::string path, mode_t perm = 0755) {
  Member m;
  m.path = std::move(path);
  m.type = AE_IFDIR;
  m.perm = perm;
  return m;
}
inline Member Symlink(std::string path, std::string target) {
  Member m;
  m.path = std::move(path);
  m.type = AE_IFLNK;
  m.perm = 0777;
  m.link = std::move(target);
  return m;
}
inline Member Hardlink(std::string path, std::string target) {
  Member m;
  m.path = std::move(path);
  m.link = std::move(target);
  m.hardlink = true;
  return m;
}
inline Member Node(std::string path, mode_t type, unsigned major, unsigned minor,
                   mode_t perm = 0666) {
  Member m;
  m.path = std::move(path);
  m.type = type;
  m.perm = perm;
  m.dev_major = major;
  m.dev_minor = minor;
  return m;
}

inline la_ssize_t AppendCallback(struct archive*, void* opaque, const void* buf, size_t n) {
  static_cast<std::string*>(opaque)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A pax tar of `members`, in order, written verbatim (full pax: sub-second mtimes survive).
inline std::string BuildTar(const std::vector<Member>& members) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, AppendCallback, nullptr);
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, m.perm);
    archive_entry_set_uid(e, m.uid);
    archive_entry_set_gid(e, m.gid);
    archive_entry_set_mtime(e, m.mtime, m.mtime_nsec);
    if (m.hardlink) archive_entry_set_hardlink(e, m.link.c_str());
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.link.c_str());
    if (m.type == AE_IFCHR || m.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(e, m.dev_major);
      archive_entry_set_rdevminor(e, m.dev_minor);
    }
    for (const auto& [k, v] : m.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, m.type == AE_IFREG && !m.hardlink ? m.content.size() : 0);
    EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
    if (m.type == AE_IFREG && !m.hardlink && !m.content.empty())
      archive_write_data(a, m.content.data(), m.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Names of the members of a tar, in order, with a type letter: "f a", "d b/", "l c", "h d",
// "c e" (char), "b", "p" (fifo).
inline std::vector<std::string> ListTar(const std::string& tar) {
  std::vector<std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char t = '?';
    if (archive_entry_hardlink(e)) {
      t = 'h';
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          t = 'f';
          break;
        case AE_IFDIR:
          t = 'd';
          break;
        case AE_IFLNK:
          t = 'l';
          break;
        case AE_IFCHR:
          t = 'c';
          break;
        case AE_IFBLK:
          t = 'b';
          break;
        case AE_IFIFO:
          t = 'p';
          break;
      }
    }
    out.push_back(std::string(1, t) + " " + archive_entry_pathname(e));
  }
  archive_read_free(a);
  return out;
}

// A scratch dir: base/root (the extraction root) and base/sentinel/keep next to it.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/berth-archive-test.XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ + "/root";
    ::mkdir(root_.c_str(), 0755);
    ::mkdir((base_ + "/sentinel").c_str(), 0755);
    (void)sys::WriteFileReplace(base_ + "/sentinel/keep", "keep");
    root_fd_.Reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ~Scratch() { (void)sys::RemoveAll(base_); }

  const std::string& base() const { return base_; }
  const std::string& root() const { return root_; }
  std::string In(const std::string& rel) const { return root_ + "/" + rel; }
  int root_fd() const { return root_fd_.get(); }

  // Nothing but root/ and an untouched sentinel/keep next to the root.
  void ExpectSentinelIntact() const {
    auto top = sys::ListDir(base_);
    ASSERT_TRUE(top);
    std::vector<std::string> names = *top;
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"root", "sentinel"}));
    auto sent = sys::ListDir(base_ + "/sentinel");
    ASSERT_TRUE(sent);
    EXPECT_EQ(*sent, std::vector<std::string>{"keep"});
    auto keep = sys::ReadFile(base_ + "/sentinel/keep");
    ASSERT_TRUE(keep);
    EXPECT_EQ(*keep, "keep");
  }

 private:
  std::string base_;
  std::string root_;
  sys::UniqueFd root_fd_;
};

// One line per entry below `dir`, sorted: path, type, mode, owner, size or target or rdev,
// content, xattrs (overlay's excluded unless keep_overlay), mtime in whole seconds (what layer
// tars carry) when with_mtime, except for whiteout devices (made at extraction time); hardlinked
// files show the first path sharing their inode.
inline std::map<std::string, std::string> Snapshot(const std::string& dir, bool with_mtime = true,
                                                   bool keep_overlay = true) {
  std::map<std::string, std::string> out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  std::vector<std::string> todo = {""};
  while (!todo.empty()) {
    std::string rel = todo.back();
    todo.pop_back();
    auto names = sys::ListDir(rel.empty() ? dir : dir + "/" + rel);
    if (!names) continue;
    std::sort(names->begin(), names->end());
    for (const auto& n : *names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      std::string full = dir + "/" + r;
      struct stat st;
      if (::lstat(full.c_str(), &st) != 0) continue;
      std::string line = fmt::format("mode={:o} uid={} gid={}", st.st_mode, st.st_uid, st.st_gid);
      if (S_ISREG(st.st_mode)) {
        line += fmt::format(" size={} data={}", st.st_size, sys::ReadFile(full).value_or("?"));
        if (st.st_nlink > 1) {
          auto [it, first] = inodes.try_emplace({st.st_dev, st.st_ino}, r);
          if (!first) line += " link=" + it->second;
        }
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t l = ::readlink(full.c_str(), buf, sizeof buf);
        line += " target=" + std::string(buf, l > 0 ? static_cast<size_t>(l) : 0);
      } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        line += fmt::format(" rdev={}:{}", major(st.st_rdev), minor(st.st_rdev));
      } else if (S_ISDIR(st.st_mode)) {
        todo.push_back(r);
      }
      bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
      if (with_mtime && !whiteout) line += fmt::format(" mtime={}", st.st_mtim.tv_sec);
      char keys[4096];
      ssize_t kl = ::llistxattr(full.c_str(), keys, sizeof keys);
      std::vector<std::string> xs;
      for (ssize_t i = 0; i < kl;) {
        std::string k(keys + i);
        i += static_cast<ssize_t>(k.size()) + 1;
        if (!keep_overlay && k.find(".overlay.") != std::string::npos) continue;
        char v[4096];
        ssize_t vl = ::lgetxattr(full.c_str(), k.c_str(), v, sizeof v);
        xs.push_back(k + "=" + std::string(v, vl > 0 ? static_cast<size_t>(vl) : 0));
      }
      std::sort(xs.begin(), xs.end());
      for (const auto& x : xs) line += " " + x;
      out[r] = line;
    }
  }
  return out;
}

}  // namespace berth::archive::testing
