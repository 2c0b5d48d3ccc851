// Unit tests of layer unpacking: gzip/zstd/plain blobs from a content store into snapshots,
// diff_id verification, idempotence.
#include "image/unpack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "archive/archive.h"
#include "sys/file.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-unpack-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    content_ = std::make_unique<ContentStore>(*ContentStore::Open(root_ + "/content"));
    meta_ = std::move(*MetadataStore::Open(root_));
    snaps_ = std::move(*Snapshotter::Open(root_ + "/snapshots", meta_.get()));
    fs::create_directories(root_ + "/src/dir");
    std::ofstream(root_ + "/src/dir/file") << "hello";
    int fd = open((root_ + "/src").c_str(), O_RDONLY | O_DIRECTORY);
    archive::StringSink tar;
    EXPECT_TRUE(archive::WriteTree(fd, tar));
    close(fd);
    tar_ = tar.Take();
    diff_id_ = oci::Sha256Of(tar_);
  }
  void TearDown() override { fs::remove_all(root_); }

  oci::Descriptor Store(archive::Compression c, const std::string& media) {
    std::string bytes = tar_;
    if (c != archive::Compression::kNone) {
      archive::StringSink out;
      archive::CompressingSink z(out, c);
      EXPECT_TRUE(z.Write(bytes.data(), bytes.size()));
      EXPECT_TRUE(z.Close());
      bytes = out.Take();
    }
    oci::Descriptor d;
    d.media_type = media;
    d.digest = *content_->Put(bytes);
    d.size = int64_t(bytes.size());
    return d;
  }

  std::string root_, tar_;
  oci::Digest diff_id_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<Snapshotter> snaps_;
};

TEST_F(UnpackTest, GzipZstdAndPlainByMediaTypeOrMagic) {
  struct Case {
    archive::Compression c;
    std::string media;
  } cases[] = {{archive::Compression::kGzip, oci::media::kOciLayerGzip},
               {archive::Compression::kZstd, oci::media::kOciLayerZstd},
               {archive::Compression::kNone, oci::media::kOciLayer},
               {archive::Compression::kZstd, "application/x-unknown"}};
  for (const auto& c : cases) {
    oci::Descriptor d = Store(c.c, c.media);
    Unpacker u(content_.get(), snaps_.get());
    auto layer = u.Extract(d, diff_id_);
    ASSERT_TRUE(layer) << c.media << ": " << layer.error().message();
    EXPECT_TRUE(fs::exists(layer->dir + "/dir/file")) << c.media;
    EXPECT_EQ(layer->size, 5);
    ASSERT_TRUE(snaps_->DiscardLayerDir(layer->dir));
  }
}

TEST_F(UnpackTest, UnpackIsIdempotentAndChecksTheDiffId) {
  oci::Descriptor d = Store(archive::Compression::kGzip, oci::media::kOciLayerGzip);
  Unpacker u(content_.get(), snaps_.get());
  auto bad = u.Unpack(d, oci::Sha256Of("other"), diff_id_, std::nullopt);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("diff_id mismatch"), std::string::npos);
  EXPECT_TRUE(meta_->ListSnapshots()->empty());
  auto names = sys::ListDir(root_ + "/snapshots");
  ASSERT_TRUE(names);
  for (const auto& n : *names) EXPECT_EQ(n[0], '.') << n;

  auto first = u.Unpack(d, diff_id_, diff_id_, std::nullopt);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(*first);
  auto second = u.Unpack(d, diff_id_, diff_id_, std::nullopt);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  EXPECT_TRUE(fs::exists(*snaps_->LayerDir(diff_id_) + "/dir/file"));
}

TEST_F(UnpackTest, MissingBlobIsNotFound) {
  oci::Descriptor d;
  d.media_type = oci::media::kOciLayerGzip;
  d.digest = oci::Sha256Of("absent");
  Unpacker u(content_.get(), snaps_.get());
  auto r = u.Extract(d, diff_id_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::image
