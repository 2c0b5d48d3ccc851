// ContainerStore on a temporary directory: records survive a reopen, AutoRemove round-trips,
// a record torn by a power loss (empty, as an unsynced --rm record can be) is skipped, and new
// containers' directories come from spares made ahead.
#include "daemon/container_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "sys/file.h"

namespace berth::daemon {
namespace {

namespace fs = std::filesystem;

class ContainerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)sys::RemoveAll(root_); }

  ContainerRecord Record(const std::string& id, const std::string& name, bool auto_remove) {
    ContainerRecord r;
    r.id = id;
    r.name = name;
    r.image = "busybox";
    r.request = "{}";
    r.auto_remove = auto_remove;
    return r;
  }

  std::string root_;
};

TEST_F(ContainerStoreTest, AutoRemoveSurvivesAReopenAndATornRecordIsSkipped) {
  {
    auto store = ContainerStore::Open(root_ + "/containers");
    ASSERT_TRUE(store) << store.error().message();
    ASSERT_TRUE((*store)->Add(Record(std::string(64, 'a'), "kept", false)));
    ASSERT_TRUE((*store)->Add(Record(std::string(64, 'b'), "rm", true)));
    ASSERT_TRUE((*store)->Add(Record(std::string(64, 'c'), "torn", true)));
  }
  // What a power loss can leave of an unsynced record.
  ASSERT_TRUE(sys::WriteFileReplace(root_ + "/containers/" + std::string(64, 'c') + "/config.json",
                                    "", 0600));
  auto store = ContainerStore::Open(root_ + "/containers");
  ASSERT_TRUE(store) << store.error().message();
  auto kept = (*store)->Find("kept");
  ASSERT_TRUE(kept);
  EXPECT_FALSE(kept->auto_remove);
  auto rm = (*store)->Find("rm");
  ASSERT_TRUE(rm);
  EXPECT_TRUE(rm->auto_remove);
  EXPECT_FALSE((*store)->Find("torn"));
  EXPECT_EQ((*store)->List().size(), 2u);
}

TEST_F(ContainerStoreTest, NewDirectoriesComeFromASpareMadeAheadAndLeftOnesAreRemoved) {
  const std::string root = root_ + "/containers";
  const std::string a(64, 'a'), b(64, 'b');
  {
    auto store = ContainerStore::Open(root);
    ASSERT_TRUE(store) << store.error().message();
    ASSERT_TRUE((*store)->MakeSpareDir());
    ASSERT_TRUE((*store)->MakeSpareDir());  // one is waiting: no second
    auto listed = sys::ListDir(root);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 1u);
    const std::string spare = (*listed)[0];
    EXPECT_EQ(spare.rfind(".spare-", 0), 0u) << spare;
    struct stat st {};
    ASSERT_EQ(::stat((root + "/" + spare).c_str(), &st), 0);
    ino_t spare_inode = st.st_ino;

    ASSERT_TRUE((*store)->MakeDir(a));  // the spare, renamed
    ASSERT_EQ(::stat((root + "/" + a).c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, spare_inode);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_FALSE(fs::exists(root + "/" + spare));
    ASSERT_TRUE((*store)->MakeDir(b));  // none waiting: made
    EXPECT_TRUE(fs::is_directory(root + "/" + b));
    ASSERT_TRUE((*store)->Add(Record(a, "with-spare", true)));
    ASSERT_TRUE((*store)->MakeSpareDir());  // left behind by this "daemon"
  }
  auto store = ContainerStore::Open(root);
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_TRUE((*store)->Find("with-spare"));
  auto listed = sys::ListDir(root);
  ASSERT_TRUE(listed);
  for (const auto& name : *listed) EXPECT_NE(name.rfind(".spare-", 0), 0u) << name;
}

TEST(ContainerRecordTest, OlderRecordsWithoutTheFieldAreNotAutoRemove) {
  auto r = ParseRecord(R"({"id":"x","name":"n","state":{}})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->auto_remove);
  ContainerRecord rec;
  rec.id = "y";
  rec.auto_remove = true;
  auto back = ParseRecord(SerializeRecord(rec));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->auto_remove);
}

}  // namespace
}  // namespace berth::daemon
