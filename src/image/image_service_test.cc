// Unit tests of ImageService: Docker's rm/untag/conflict rules, tag, list, inspect, history,
// prune and garbage collection, over images recorded directly in a temporary root.
#include "image/image_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::image {
namespace {

namespace fs = std::filesystem;

class FakeContainers : public ContainerUsage {
 public:
  std::optional<ContainerUser> FindUser(const oci::Digest& image) override {
    if (image == used) return ContainerUser{"0123456789abcdef", running};
    return std::nullopt;
  }
  oci::Digest used;
  bool running = false;
};

class ImageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-images-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    content_ = std::make_unique<ContentStore>(*ContentStore::Open(root_ + "/content"));
    meta_ = std::move(*MetadataStore::Open(root_));
    snaps_ = std::move(*Snapshotter::Open(root_ + "/snapshots", meta_.get()));
    svc_ = std::make_unique<ImageService>(content_.get(), meta_.get(), snaps_.get(), &containers_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // An image with one layer (its own content `layer`) and the given names.
  oci::Digest AddImage(const std::string& layer, std::vector<std::string> names) {
    oci::Digest blob = *content_->Put("blob-" + layer);
    oci::Digest diff = oci::Sha256Of(layer);
    if (!snaps_->Exists(diff)) {
      auto dir = snaps_->PrepareLayerDir();
      std::ofstream(*dir + "/f") << layer;
      EXPECT_TRUE(snaps_->CommitLayer(*dir, diff, std::nullopt, int64_t(layer.size())));
    }
    std::string config =
        R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",)"
        R"("config":{"Cmd":["sh"],"Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[")" +
        diff.ToString() + R"("]},"history":[{"created":"2024-01-02T03:04:05Z","created_by":"ADD )" +
        layer + R"("}]})";
    oci::Digest id = *content_->Put(config);
    oci::Digest manifest = *content_->Put("manifest-" + layer);
    ImageRecord rec;
    rec.id = id;
    rec.manifest_digest = manifest;
    rec.target.media_type = oci::media::kOciManifest;
    rec.target.digest = manifest;
    rec.target.size = 10;
    rec.created = "2024-01-02T03:04:05Z";
    rec.size = int64_t(layer.size());
    rec.layers = {{diff, diff, blob, 5, oci::media::kOciLayerGzip}};
    rec.names = std::move(names);
    EXPECT_TRUE(meta_->PutImage(rec));
    return id;
  }

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<Snapshotter> snaps_;
  FakeContainers containers_;
  std::unique_ptr<ImageService> svc_;
};

TEST_F(ImageServiceTest, ListInspectHistoryTag) {
  oci::Digest id = AddImage("a", {"docker.io/library/busybox:latest",
                                  "docker.io/library/busybox@" + oci::Sha256Of("m").ToString()});
  auto list = svc_->List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].repo_tags, std::vector<std::string>{"busybox:latest"});
  EXPECT_EQ((*list)[0].repo_digests[0], "busybox@" + oci::Sha256Of("m").ToString());
  EXPECT_EQ((*list)[0].created, 1704164645);
  EXPECT_EQ((*list)[0].labels.at("k"), "v");
  EXPECT_EQ(ToJson((*list)[0])["Id"], id.ToString());

  auto i = svc_->Inspect("busybox");
  ASSERT_TRUE(i) << i.error().message();
  EXPECT_EQ(i->id, id.ToString());
  auto j = ToJson(*i);
  EXPECT_EQ(j["RootFS"]["Type"], "layers");
  EXPECT_EQ(j["Config"]["Cmd"][0], "sh");
  EXPECT_EQ(j["Architecture"], "amd64");
  EXPECT_TRUE(svc_->Inspect(id.hex().substr(0, 6)));
  EXPECT_EQ(svc_->Inspect("nope").error().code(), base::ErrorCode::kNotFound);

  auto h = svc_->History("busybox");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].id, id.ToString());
  EXPECT_EQ((*h)[0].created_by, "ADD a");
  EXPECT_EQ((*h)[0].size, 1);

  ASSERT_TRUE(svc_->Tag("busybox", "mine:v1"));
  EXPECT_EQ(svc_->Resolve("mine:v1")->id, id);
  EXPECT_FALSE(svc_->Tag("busybox", "mine@" + oci::Sha256Of("x").ToString()));
}

TEST_F(ImageServiceTest, RemoveFollowsDockerRules) {
  oci::Digest id = AddImage("a", {"docker.io/library/a:1", "docker.io/library/b:1"});
  // By ID with names in two repositories: must be forced.
  auto r = svc_->Remove(id.hex().substr(0, 12), false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("image is referenced in multiple repositories"),
            std::string::npos);
  // By tag: untag only while other names remain.
  r = svc_->Remove("a:1", false);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].untagged, "a:1");
  // In use by a container: the last name needs force.
  containers_.used = id;
  r = svc_->Remove("b:1", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kConflict);
  EXPECT_EQ(r.error().message(),
            "conflict: unable to remove repository reference \"b:1\" (must force) - container "
            "0123456789ab is using its referenced image " +
                id.hex().substr(0, 12));
  r = svc_->Remove("b:1", true);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_GE(r->size(), 2u);
  EXPECT_EQ((*r)[0].untagged, "b:1");
  EXPECT_EQ((*r)[1].deleted, id.ToString());
  EXPECT_FALSE(meta_->GetImage(id));
}

TEST_F(ImageServiceTest, RemovingLastTagDropsDigestsAndGcKeepsShared) {
  oci::Digest d = oci::Sha256Of("m");
  oci::Digest a = AddImage("a", {"docker.io/library/a:1", "docker.io/library/a@" + d.ToString()});
  oci::Digest b = AddImage("b", {"docker.io/library/b:1"});
  auto r = svc_->Remove("a:1", false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_GE(r->size(), 3u);
  EXPECT_EQ((*r)[1].untagged, "a@" + d.ToString());
  EXPECT_EQ((*r)[2].deleted, a.ToString());
  EXPECT_FALSE(content_->Exists(a));
  EXPECT_FALSE(content_->Exists(oci::Sha256Of("blob-a")));
  EXPECT_FALSE(snaps_->Exists(oci::Sha256Of("a")));
  // b's blobs and snapshot are untouched.
  EXPECT_TRUE(content_->Exists(b));
  EXPECT_TRUE(content_->Exists(oci::Sha256Of("blob-b")));
  EXPECT_TRUE(snaps_->Exists(oci::Sha256Of("b")));
  auto gc = svc_->CollectGarbage();
  ASSERT_TRUE(gc);
  EXPECT_TRUE(gc->blobs.empty());
  EXPECT_TRUE(gc->snapshots.empty());
}

TEST_F(ImageServiceTest, PruneDanglingSkipsUsedImages) {
  oci::Digest a = AddImage("a", {});
  oci::Digest b = AddImage("b", {});
  oci::Digest c = AddImage("c", {"docker.io/library/c:1"});
  containers_.used = b;
  auto dangling = svc_->List(true);
  ASSERT_EQ(dangling->size(), 2u);
  auto p = svc_->PruneDangling();
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(meta_->GetImage(a));
  EXPECT_TRUE(meta_->GetImage(b));
  EXPECT_TRUE(meta_->GetImage(c));
  EXPECT_GT(p->space_reclaimed, 0);
}

TEST_F(ImageServiceTest, GcRespectsLeases) {
  oci::Digest leased = *content_->Put("leased");
  oci::Digest loose = *content_->Put("loose");
  ASSERT_TRUE(meta_->CreateLease("l", std::chrono::seconds(0)));
  ASSERT_TRUE(meta_->AddLeaseBlob("l", leased));
  auto gc = svc_->CollectGarbage();
  ASSERT_TRUE(gc);
  EXPECT_TRUE(content_->Exists(leased));
  EXPECT_FALSE(content_->Exists(loose));
}

TEST(Rfc3339, Parses) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:10Z"), 10);
  EXPECT_EQ(ParseRfc3339("1970-01-01T01:00:10.5+01:00"), 10);
  EXPECT_EQ(ParseRfc3339("junk"), 0);
}

}  // namespace
}  // namespace berth::image
