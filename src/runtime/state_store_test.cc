// StateStore on a temporary --root: the record and the config travel in one state.json, the
// pid can be read without the config, and state dirs from before that still load.
#include "runtime/state_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "sys/file.h"

namespace berth::runtime {
namespace {

constexpr const char* kConfig =
    R"({"ociVersion":"1.0.2","process":{"args":["sh","-c","echo \"pid\": 7"],"cwd":"/"},)"
    R"("root":{"path":"rootfs"},"hostname":"h1"})";

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-state-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)sys::RemoveAll(root_); }

  ContainerRecord Record() {
    ContainerRecord r;
    r.id = "c1";
    r.bundle = "/b";
    r.rootfs = "/b/rootfs";
    r.pid = 4242;
    r.start_time = 99;
    // A nested "pid" must not be taken for the init's.
    r.annotations = {{"pid", "1"}, {"a", "b"}};
    r.cgroup_paths = {{"pids", "/sys/fs/cgroup/pids/c1"}};
    return r;
  }

  std::string root_;
};

TEST_F(StateStoreTest, RecordAndConfigRoundTripThroughOneFile) {
  StateStore store(root_);
  ASSERT_TRUE(store.CreateDir("c1"));
  ASSERT_TRUE(store.Save(Record(), kConfig));
  auto names = sys::ListDir(store.Dir("c1"));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"state.json"});

  auto rec = store.Load("c1");
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->pid, 4242);
  EXPECT_EQ(rec->start_time, 99u);
  EXPECT_EQ(rec->annotations.at("pid"), "1");
  auto spec = store.LoadConfig("c1");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->hostname, "h1");
  ASSERT_TRUE(spec->process);
  EXPECT_EQ(spec->process->args.back(), "echo \"pid\": 7");

  auto pid = store.LoadPid("c1");
  ASSERT_TRUE(pid) << pid.error().message();
  EXPECT_EQ(*pid, 4242);
}

TEST_F(StateStoreTest, ConfigIsKeptAsItsJsonAndOtherTextAsAString) {
  StateStore store(root_);
  ASSERT_TRUE(store.CreateDir("c1"));
  ASSERT_TRUE(store.Save(Record(), std::string("  ") + kConfig + "\n"));
  auto text = sys::ReadFile(store.Dir("c1") + "/state.json");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find(R"("config":  {"ociVersion")"), std::string::npos) << *text;
  EXPECT_EQ(store.LoadConfig("c1").value_or(oci::Spec{}).hostname, "h1");
  // Not an object (a caller's mistake): still a valid state file.
  ASSERT_TRUE(store.Save(Record(), "[1]"));
  EXPECT_EQ(store.LoadPid("c1").value_or(0), 4242);
  EXPECT_FALSE(store.LoadConfig("c1"));
}

TEST_F(StateStoreTest, MissingContainerIsNotFound) {
  StateStore store(root_);
  EXPECT_EQ(store.LoadPid("nope").error().code(), base::ErrorCode::kNotFound);
  EXPECT_EQ(store.LoadConfig("nope").error().code(), base::ErrorCode::kNotFound);
  EXPECT_EQ(store.LoadPid("../etc").error().code(), base::ErrorCode::kNotFound);
}

TEST_F(StateStoreTest, TornRecordIsCorruptButATornConfigLeavesTheRecord) {
  StateStore store(root_);
  ASSERT_TRUE(store.CreateDir("c1"));
  std::string path = store.Dir("c1") + "/state.json";
  ASSERT_TRUE(sys::WriteFileReplace(path, R"({"bundle":"/b","id":"c1","pi)", 0600));
  EXPECT_EQ(store.Load("c1").error().code(), base::ErrorCode::kInternal);
  // The record is read without the config: a config cut short still leaves it readable.
  ASSERT_TRUE(
      sys::WriteFileReplace(path, R"({"bundle":"/b","id":"c1","pid":5,"config":"{\"ociV)", 0600));
  EXPECT_EQ(store.LoadPid("c1").value_or(0), 5);
  EXPECT_FALSE(store.LoadConfig("c1"));
}

TEST_F(StateStoreTest, StateDirWithASeparateConfigStillLoads) {
  StateStore store(root_);
  ASSERT_TRUE(store.CreateDir("c1"));
  ASSERT_TRUE(sys::WriteFileReplace(store.Dir("c1") + "/state.json",
                                    R"({"id":"c1","bundle":"/b","pid":17})", 0600));
  ASSERT_TRUE(sys::WriteFileReplace(store.LegacyConfigPath("c1"), kConfig, 0600));
  auto spec = store.LoadConfig("c1");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->hostname, "h1");
  EXPECT_EQ(store.LoadPid("c1").value_or(0), 17);
}

}  // namespace
}  // namespace berth::runtime
