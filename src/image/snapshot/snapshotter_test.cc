// Unit tests of the overlay snapshotter with a temporary root; the overlay mount test needs
// root (ctest label privileged) and skips otherwise.
#include "image/snapshot/snapshotter.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sys/file.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-snap-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    meta_ = std::move(*MetadataStore::Open(root_));
    snaps_ = std::move(*Snapshotter::Open(root_ + "/snapshots", meta_.get()));
  }
  void TearDown() override { fs::remove_all(root_); }

  oci::Digest Commit(const std::string& file, std::optional<oci::Digest> parent) {
    auto dir = snaps_->PrepareLayerDir();
    EXPECT_TRUE(dir);
    std::ofstream(*dir + "/" + file) << file;
    oci::Digest id = oci::Sha256Of(file);
    auto s = snaps_->CommitLayer(*dir, id, parent, int64_t(file.size()));
    EXPECT_TRUE(s) << s.error().message();
    return id;
  }

  std::string root_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<Snapshotter> snaps_;
};

TEST_F(SnapshotterTest, CommitViewAndContainer) {
  oci::Digest a = Commit("a", std::nullopt);
  oci::Digest b = Commit("b", a);
  auto one = snaps_->View(a);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].type, "bind");
  EXPECT_EQ((*one)[0].source, *snaps_->LayerDir(a));
  auto two = snaps_->View(b);
  ASSERT_TRUE(two);
  EXPECT_EQ((*two)[0].type, "overlay");
  EXPECT_EQ((*two)[0].options[0], "lowerdir=" + *snaps_->LayerDir(b) + ":" + *snaps_->LayerDir(a));
  EXPECT_EQ(*snaps_->Usage(b), 1);

  auto c = snaps_->PrepareContainer("ctr1", b);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].options.size(), 3u);
  EXPECT_FALSE(snaps_->PrepareContainer("ctr1", b));
  // Held by the container: nothing is unreferenced.
  EXPECT_TRUE(meta_->UnreferencedSnapshots()->empty());

  if (geteuid() == 0) {
    std::string mnt = root_ + "/mnt";
    fs::create_directories(mnt);
    std::string data = (*c)[0].options[0] + "," + (*c)[0].options[1] + "," + (*c)[0].options[2];
    ASSERT_EQ(mount("overlay", mnt.c_str(), "overlay", 0, data.c_str()), 0) << strerror(errno);
    EXPECT_TRUE(fs::exists(mnt + "/a"));
    EXPECT_TRUE(fs::exists(mnt + "/b"));
    std::ofstream(mnt + "/new") << "12345";
    EXPECT_EQ(umount(mnt.c_str()), 0);
    EXPECT_EQ(*snaps_->ContainerUsage("ctr1"), 5);
  }

  ASSERT_TRUE(snaps_->RemoveContainer("ctr1"));
  auto unref = meta_->UnreferencedSnapshots();
  ASSERT_EQ(unref->size(), 2u);
  EXPECT_EQ((*unref)[0].chain_id, b);  // children first
  for (const auto& s : *unref) ASSERT_TRUE(snaps_->Remove(s.chain_id));
  EXPECT_EQ(*snaps_->CleanupOrphans(std::chrono::seconds(0)), 0);
  auto names = sys::ListDir(root_ + "/snapshots");
  ASSERT_TRUE(names);
  for (const auto& n : *names) EXPECT_EQ(n[0], '.') << n;
}

// A spare made ahead becomes the next container's layer (its fs/ is the very directory), one
// removed behind the snapshotter's back is replaced, and spares left at the end are removed.
TEST_F(SnapshotterTest, ContainersTakeTheSpareLayerMadeAhead) {
  oci::Digest a = Commit("a", std::nullopt);
  auto tmps = [&] {
    std::vector<std::string> out;
    auto names = sys::ListDir(root_ + "/snapshots");
    EXPECT_TRUE(names);
    for (const auto& n : names.value_or(std::vector<std::string>{}))
      if (n.rfind("tmp-", 0) == 0) out.push_back(root_ + "/snapshots/" + n);
    return out;
  };
  ASSERT_TRUE(snaps_->MakeSpareContainerDir());
  ASSERT_TRUE(snaps_->MakeSpareContainerDir());  // one is waiting: no second
  auto spare = tmps();
  ASSERT_EQ(spare.size(), 1u);
  EXPECT_TRUE(fs::is_directory(spare[0] + "/work"));
  struct stat before;
  ASSERT_EQ(stat((spare[0] + "/fs").c_str(), &before), 0);

  auto c = snaps_->PrepareContainer("ctr1", a);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(tmps().empty());
  std::string upper = (*c)[0].options[1].substr(std::string("upperdir=").size());
  struct stat after;
  ASSERT_EQ(stat(upper.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the spare was not used";

  ASSERT_TRUE(snaps_->MakeSpareContainerDir());
  fs::remove_all(tmps().at(0));  // as CleanupOrphans would an old one
  auto d = snaps_->PrepareContainer("ctr2", a);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(fs::is_directory((*d)[0].options[2].substr(std::string("workdir=").size())));

  ASSERT_TRUE(snaps_->MakeSpareContainerDir());
  EXPECT_EQ(tmps().size(), 1u);
  snaps_.reset();
  EXPECT_TRUE(tmps().empty()) << "a spare outlived its snapshotter";
}

// The init layer holds the mount points the image lacks, and only those: present ones (in any
// layer) are left alone, whited-out or opaque-hidden ones count as absent, and points under a
// symlink are left to the runtime. It sits above the image in containers' mounts.
TEST_F(SnapshotterTest, InitLayerHoldsTheMountPointsTheImageLacks) {
  bool root = geteuid() == 0;  // whiteouts and trusted.* xattrs need root
  auto below = snaps_->PrepareLayerDir();
  ASSERT_TRUE(below);
  fs::create_directories(*below + "/etc");
  fs::permissions(*below + "/etc", fs::perms(0750));
  fs::create_directories(*below + "/dev");
  fs::create_directories(*below + "/run");
  std::ofstream(*below + "/etc/hostname") << "x";
  fs::create_symlink("usr/lib", *below + "/lib");
  oci::Digest a = oci::Sha256Of("below");
  ASSERT_TRUE(snaps_->CommitLayer(*below, a, std::nullopt, 0));
  auto top = snaps_->PrepareLayerDir();
  ASSERT_TRUE(top);
  if (root) {
    ASSERT_EQ(mknod((*top + "/dev").c_str(), S_IFCHR | 0600, makedev(0, 0)), 0);  // whiteout
    fs::create_directories(*top + "/etc");
    ASSERT_EQ(setxattr((*top + "/etc").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  }
  oci::Digest b = oci::Sha256Of("top");
  ASSERT_TRUE(snaps_->CommitLayer(*top, b, a, 0));

  std::vector<MountPoint> points = {
      {"proc", true},          {"/dev", true},        {"run", true},          {"etc/hosts", false},
      {"etc/hostname", false}, {"lib/modules", true}, {"sys/fs/cgroup", true}};
  auto made = snaps_->EnsureInitLayer(b, points);
  ASSERT_TRUE(made) << made.error().message();
  std::string init = fs::path(*snaps_->LayerDir(b)).parent_path().string() + "/init";
  EXPECT_TRUE(fs::is_directory(init + "/proc"));
  EXPECT_TRUE(fs::is_directory(init + "/sys/fs/cgroup"));
  EXPECT_TRUE(fs::is_regular_file(init + "/etc/hosts"));
  if (!root) {  // (as root the opaque etc/ above decides: its mode is the test's umask's)
    EXPECT_EQ(fs::status(init + "/etc").permissions(), fs::perms(0750));  // as the image's
  }
  EXPECT_FALSE(fs::exists(init + "/run"));              // the image has it
  EXPECT_FALSE(fs::exists(init + "/lib"));              // under a symlink: the runtime's business
  EXPECT_EQ(fs::exists(init + "/dev"), root);           // whited out above
  EXPECT_EQ(fs::exists(init + "/etc/hostname"), root);  // hidden by an opaque etc/

  // Built once: a second call leaves it as it is.
  std::ofstream(init + "/marker") << "";
  ASSERT_TRUE(snaps_->EnsureInitLayer(b, points));
  EXPECT_TRUE(fs::exists(init + "/marker"));

  auto c = snaps_->PrepareContainer("ctr", b);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ((*c)[0].options[0],
            "lowerdir=" + init + ":" + *snaps_->LayerDir(b) + ":" + *snaps_->LayerDir(a));
  // Removed with the layer it belongs to.
  ASSERT_TRUE(snaps_->RemoveContainer("ctr"));
  ASSERT_TRUE(snaps_->Remove(b));
  EXPECT_FALSE(fs::exists(init));
  EXPECT_FALSE(snaps_->EnsureInitLayer(b, points));  // NotFound
}

TEST_F(SnapshotterTest, ConcurrentCommitOfTheSameChainKeepsOne) {
  oci::Digest a = Commit("a", std::nullopt);
  auto dir = snaps_->PrepareLayerDir();
  ASSERT_TRUE(dir);
  ASSERT_TRUE(snaps_->CommitLayer(*dir, a, std::nullopt, 1));
  EXPECT_FALSE(fs::exists(*dir));
  EXPECT_EQ(meta_->ListSnapshots()->size(), 1u);
}

TEST_F(SnapshotterTest, CleanupRemovesOrphansAndOldTemporaries) {
  Commit("a", std::nullopt);
  fs::create_directories(root_ + "/snapshots/999/fs");  // placed, never recorded (crash)
  auto tmp = snaps_->PrepareLayerDir();                 // a crashed unpack's temporary
  ASSERT_TRUE(tmp);
  EXPECT_EQ(*snaps_->CleanupOrphans(std::chrono::hours(1)), 1);
  EXPECT_TRUE(fs::exists(*tmp));
  EXPECT_EQ(*snaps_->CleanupOrphans(std::chrono::seconds(0)), 1);
  EXPECT_FALSE(fs::exists(*tmp));
  EXPECT_EQ(meta_->ListSnapshots()->size(), 1u);
}

TEST_F(SnapshotterTest, TooManyLayersForOnePageIsAnError) {
  std::optional<oci::Digest> parent;
  for (int i = 0; i < 200; ++i) parent = Commit("layer" + std::to_string(i), parent);
  auto v = snaps_->View(*parent);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message().find("exceed one page"), std::string::npos);
}

TEST_F(SnapshotterTest, CommitNeedsTheParent) {
  auto dir = snaps_->PrepareLayerDir();
  auto s = snaps_->CommitLayer(*dir, oci::Sha256Of("x"), oci::Sha256Of("nope"), 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::ErrorCode::kNotFound);
  (void)snaps_->DiscardLayerDir(*dir);
}

}  // namespace
}  // namespace berth::image
