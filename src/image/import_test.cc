// Tests for docker import: the one-layer image it stores and the --change instructions.
#include "image/import.h"

#include <gtest/gtest.h>

#include "archive/archive.h"
#include "archive/test_tar.h"
#include "sys/file.h"

namespace berth::image {
namespace {

using archive::testing::BuildTar;
using archive::testing::Dir;
using archive::testing::File;
using archive::testing::Scratch;

oci::ContainerConfig Apply(const std::vector<std::string>& changes) {
  oci::ContainerConfig c;
  for (const auto& ch : changes) {
    auto st = ApplyChange(ch, c);
    EXPECT_TRUE(st) << ch << ": " << st.error().message();
  }
  return c;
}

TEST(ApplyChangeTest, CmdAndEntrypointForms) {
  auto c = Apply({R"(CMD ["sh", "-c", "echo hi"])", "entrypoint /bin/tini --"});
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "/bin/tini --"}));
  // Not a JSON array of strings: shell form, as a Dockerfile reads it.
  EXPECT_EQ(Apply({"CMD [not json"}).cmd, (std::vector<std::string>{"/bin/sh", "-c", "[not json"}));
  EXPECT_EQ(Apply({"CMD sh -c x"}).cmd, (std::vector<std::string>{"/bin/sh", "-c", "sh -c x"}));
}

TEST(ApplyChangeTest, EnvLabelExposeVolumeWorkdirUserStopsignal) {
  auto c = Apply({"ENV A=1 B=\"two words\" C=x\\ y", "ENV LEGACY some value", "ENV A=3",
                  "LABEL org.x=\"y z\"", "EXPOSE 80 53/udp 8000-8001", "VOLUME /data /logs",
                  R"(VOLUME ["/cache"])", "WORKDIR /app", "WORKDIR sub/../src", "USER 1000:1000",
                  "STOPSIGNAL SIGINT"});
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=3", "B=two words", "C=x y", "LEGACY=some value"}));
  EXPECT_EQ(c.labels.at("org.x"), "y z");
  EXPECT_EQ(c.exposed_ports,
            (std::vector<std::string>{"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}));
  EXPECT_EQ(c.volumes, (std::vector<std::string>{"/data", "/logs", "/cache"}));
  EXPECT_EQ(c.working_dir, "/app/src");
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.stop_signal, "SIGINT");
}

TEST(ApplyChangeTest, Errors) {
  oci::ContainerConfig c;
  for (const char* bad : {"RUN echo", "FROM x", "CMD", "", "EXPOSE 70000", "EXPOSE 80/xyz",
                          "ENV A=\"unterminated", "ENV =x y=1", "HEALTHCHECK NONE"}) {
    auto st = ApplyChange(bad, c);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), base::ErrorCode::kInvalidArgument) << bad;
  }
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ContentStore::Open(scratch_.root() + "/content");
    ASSERT_TRUE(c);
    content_.emplace(std::move(*c));
    auto m = MetadataStore::Open(scratch_.root());
    ASSERT_TRUE(m);
    metadata_ = std::move(*m);
  }

  Scratch scratch_;
  std::optional<ContentStore> content_;
  std::unique_ptr<MetadataStore> metadata_;
};

TEST_F(ImportTest, StoresOneGzipLayerWithChanges) {
  std::string tar = BuildTar({Dir("bin"), File("bin/app", "#!/bin/sh\necho hi\n", 0755)});
  archive::MemorySource src(tar);
  ImportOptions opts;
  opts.reference = "example/app:v1";
  opts.changes = {R"(CMD ["/bin/app"])", "ENV PATH=/bin MODE=prod", "WORKDIR /srv"};
  opts.message = "from test";
  opts.platform = oci::Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
  opts.created = "2025-05-06T07:08:09Z";
  auto id = Import(src, *content_, *metadata_, opts);
  ASSERT_TRUE(id) << id.error().message();

  auto rec = metadata_->ResolveName("docker.io/example/app:v1");
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->id, *id);
  ASSERT_EQ(rec->layers.size(), 1u);
  EXPECT_EQ(rec->layers[0].diff_id, oci::Sha256Of(tar));
  EXPECT_EQ(rec->layers[0].chain_id, oci::Sha256Of(tar));
  EXPECT_EQ(rec->layers[0].media_type, oci::media::kDockerLayerGzip);
  EXPECT_EQ(rec->platform.architecture, "arm64");

  // The blob is gzip and decompresses to the tar.
  auto fd = content_->Open(rec->layers[0].blob);
  ASSERT_TRUE(fd);
  archive::FdSource file(fd->get());
  archive::DecompressingSource dec(file);
  std::string round;
  char buf[4096];
  while (true) {
    auto n = dec.Read(buf, sizeof buf);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    round.append(buf, *n);
  }
  EXPECT_EQ(dec.compression(), archive::Compression::kGzip);
  EXPECT_EQ(round, tar);

  auto config_bytes = content_->ReadAll(*id, 1 << 20);
  ASSERT_TRUE(config_bytes);
  auto config = oci::ParseImageConfig(*config_bytes);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->config.cmd, std::vector<std::string>{"/bin/app"});
  EXPECT_EQ(config->config.env, (std::vector<std::string>{"PATH=/bin", "MODE=prod"}));
  EXPECT_EQ(config->config.working_dir, "/srv");
  EXPECT_EQ(config->created, "2025-05-06T07:08:09Z");
  ASSERT_EQ(config->history.size(), 1u);
  EXPECT_EQ(config->history[0].comment, "from test");

  auto manifest = content_->ReadAll(rec->manifest_digest, 1 << 20);
  ASSERT_TRUE(manifest);
  auto m = oci::ParseManifest(*manifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->config.digest, *id);
  EXPECT_EQ(m->layers[0].digest, rec->layers[0].blob);
  auto all = content_->List();
  auto unref = metadata_->UnreferencedBlobs(*all);
  EXPECT_TRUE(unref->empty());
}

TEST_F(ImportTest, AcceptsGzippedInputAndNoReference) {
  std::string tar = BuildTar({File("a", "b")});
  archive::StringSink gz;
  archive::CompressingSink z(gz, archive::Compression::kGzip);
  ASSERT_TRUE(z.Write(tar.data(), tar.size()));
  ASSERT_TRUE(z.Close());
  archive::MemorySource src(gz.data());
  auto id = Import(src, *content_, *metadata_);
  ASSERT_TRUE(id) << id.error().message();
  auto rec = metadata_->GetImage(*id);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->names.empty());
  EXPECT_EQ(rec->layers[0].diff_id, oci::Sha256Of(tar));
}

TEST_F(ImportTest, RejectsNonTarAndBadChanges) {
  std::string junk(2048, 'x');
  archive::MemorySource src(junk);
  auto id = Import(src, *content_, *metadata_);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), base::ErrorCode::kInvalidArgument) << id.error().message();

  std::string tar = BuildTar({File("a", "b")});
  archive::MemorySource src2(tar);
  ImportOptions opts;
  opts.changes = {"RUN rm -rf /"};
  id = Import(src2, *content_, *metadata_, opts);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message().find("unknown instruction RUN"), std::string::npos);
  auto images = metadata_->ListImages();
  EXPECT_TRUE(images->empty());
  auto blobs = content_->List();
  EXPECT_TRUE(blobs->empty());
}

}  // namespace
}  // namespace berth::image
