// Tests for the image-spec value types: manifest/index/config JSON with field-path errors,
// media types, platforms and their matching, chain IDs.
#include "oci/image_spec.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

using base::ErrorCode;

std::string D(char c) { return "sha256:" + std::string(64, c); }

// A Docker Hub busybox manifest (digests shortened to repeated characters).
const std::string kDockerManifest = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": ")" + D('a') + R"("
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2591575,
         "digest": ")" + D('b') + R"("
      }
   ]
})";

const std::string kOciManifest = R"({
  "schemaVersion": 2,
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": ")" +
                                 D('c') +
                                 R"(", "size": 7023},
  "layers": [
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ")" +
                                 D('d') +
                                 R"(", "size": 32654},
    {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": ")" +
                                 D('e') +
                                 R"(", "size": 16724,
     "urls": ["https://example.com/l"], "annotations": {"k": "v", "n": null}}
  ],
  "annotations": {"com.example.key1": "value1"}
})";

TEST(ManifestTest, ParsesDockerManifest) {
  auto m = ParseManifest(kDockerManifest);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_EQ(m->media_type, media::kDockerManifest);
  EXPECT_EQ(m->config.media_type, media::kDockerConfig);
  EXPECT_EQ(m->config.size, 1457);
  EXPECT_EQ(m->config.digest.ToString(), D('a'));
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 2591575);
  EXPECT_EQ(m->layers[0].digest.ToString(), D('b'));
}

TEST(ManifestTest, ParsesOciManifest) {
  auto m = ParseManifest(kOciManifest);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, "");
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://example.com/l"});
  EXPECT_EQ(m->layers[1].annotations, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_EQ(m->annotations.at("com.example.key1"), "value1");
}

TEST(ManifestTest, RoundTrips) {
  for (const std::string& text : {kDockerManifest, kOciManifest}) {
    auto m = ParseManifest(text);
    ASSERT_TRUE(m);
    std::string out = SerializeManifest(*m);
    auto again = ParseManifest(out);
    ASSERT_TRUE(again) << out;
    EXPECT_EQ(*again, *m);
    EXPECT_EQ(SerializeManifest(*again), out);
  }
}

TEST(ManifestTest, SerialisesWithStableKeyOrder) {
  Manifest m;
  m.media_type = media::kOciManifest;
  m.config = {.media_type = media::kOciConfig, .digest = *Digest::Parse(D('1')), .size = 2};
  m.layers.push_back({.media_type = media::kOciLayerGzip,
                      .digest = *Digest::Parse(D('2')),
                      .size = 3,
                      .annotations = {{"b", "2"}, {"a", "1"}}});
  m.annotations = {{"z", "1"}};
  EXPECT_EQ(SerializeManifest(m),
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                D('1') +
                R"(","size":2},"layers":[{"mediaType":)"
                R"("application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                D('2') +
                R"(","size":3,"annotations":{"a":"1","b":"2"}}],)"
                R"("annotations":{"z":"1"}})");
}

struct BadDocument {
  std::string json;
  std::string message;
};

std::string WithLayers(const std::string& layers) {
  return R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + D('a') +
         R"(","size":1},"layers":)" + layers + "}";
}

std::string Layer(const std::string& digest, const std::string& size) {
  return R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + digest +
         R"(","size":)" + size + "}";
}

TEST(ManifestTest, RejectsBadDocumentsNamingTheField) {
  const BadDocument cases[] = {
      {"", "manifest: invalid JSON: "},
      {"[]", "manifest: expected object"},
      {R"({"schemaVersion":2,"layers":[]})", "config: required"},
      {R"({"schemaVersion":2,"config":null,"layers":[]})", "config: required"},
      {R"({"schemaVersion":2,"config":"x","layers":[]})", "config: expected object"},
      {R"({"config":{},"layers":[]})", "schemaVersion: required"},
      {R"({"schemaVersion":1,"config":{},"layers":[]})",
       "schemaVersion: unsupported schema version 1"},
      {R"({"schemaVersion":"2","config":{},"layers":[]})", "schemaVersion: expected integer"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
       R"("config":{},"layers":[]})",
       "mediaType: \"application/vnd.oci.image.index.v1+json\" is not a manifest media type"},
      {R"({"schemaVersion":2,"config":{"digest":")" + D('a') + R"("},"layers":[]})",
       "config.size: required"},
      {R"({"schemaVersion":2,"config":{"size":1},"layers":[]})", "config.digest: required"},
      {R"({"schemaVersion":2,"config":{"size":1,"digest":"sha256:abc"},"layers":[]})",
       "config.digest: invalid digest \"sha256:abc\": sha256 needs 64 lowercase hex characters"},
      {R"({"schemaVersion":2,"config":{"size":1,"digest":7},"layers":[]})",
       "config.digest: expected string"},
      {R"({"schemaVersion":2,"config":{"mediaType":1,"size":1,"digest":")" + D('a') +
           R"("},"layers":[]})",
       "config.mediaType: expected string"},
      {WithLayers("null").substr(0, 0) + R"({"schemaVersion":2,"config":{"digest":")" + D('a') +
           R"(","size":1}})",
       "layers: required"},
      {WithLayers("{}"), "layers: expected array"},
      {WithLayers("[1]"), "layers[0]: expected object"},
      {WithLayers("[" + Layer(D('b'), "1") + "," + Layer("sha256:xyz", "1") + "]"),
       "layers[1].digest: invalid digest \"sha256:xyz\": sha256 needs 64 lowercase hex "
       "characters"},
      {WithLayers("[" + Layer("md5:" + std::string(32, 'a'), "1") + "]"),
       "layers[0].digest: invalid digest \"md5:" + std::string(32, 'a') +
           "\": unsupported algorithm \"md5\""},
      {WithLayers("[" + Layer(D('b'), "1.5") + "]"), "layers[0].size: expected integer"},
      {WithLayers("[" + Layer(D('b'), "1e3") + "]"), "layers[0].size: expected integer"},
      {WithLayers("[" + Layer(D('b'), "\"12\"") + "]"), "layers[0].size: expected integer"},
      {WithLayers("[" + Layer(D('b'), "-1") + "]"), "layers[0].size: must not be negative"},
      {WithLayers("[" + Layer(D('b'), "18446744073709551615") + "]"),
       "layers[0].size: out of range"},
      {WithLayers(R"([{"digest":")" + D('b') + R"(","size":1,"urls":[1]}])"),
       "layers[0].urls[0]: expected string"},
      {WithLayers(R"([{"digest":")" + D('b') + R"(","size":1,"annotations":{"a":1}}])"),
       "layers[0].annotations[\"a\"]: expected string"},
      {WithLayers(R"([{"digest":")" + D('b') + R"(","size":1,"platform":{"os":"linux"}}])"),
       "layers[0].platform.architecture: required"},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest(c.json);
    ASSERT_FALSE(m) << c.json;
    EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(m.error().message().substr(0, c.message.size()), c.message) << c.json;
  }
}

const std::string kIndex = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('1') +
                           R"(", "size": 100,
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('2') +
                           R"(", "size": 101,
     "platform": {"architecture": "arm64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('3') +
                           R"(", "size": 102,
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('4') +
                           R"(", "size": 103,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('5') +
                           R"(", "size": 104,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('6') +
                           R"(", "size": 105,
     "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1",
                  "os.features": ["win32k"]}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('7') +
                           R"(", "size": 106,
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
     "platform": {"architecture": "unknown", "os": "unknown"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" +
                           D('8') +
                           R"(", "size": 107}
  ]
})";

TEST(IndexTest, ParsesAndRoundTrips) {
  auto i = ParseIndex(kIndex);
  ASSERT_TRUE(i) << i.error().message();
  ASSERT_EQ(i->manifests.size(), 8u);
  ASSERT_TRUE(i->manifests[5].platform);
  EXPECT_EQ(i->manifests[5].platform->os_version, "10.0.17763.1");
  EXPECT_EQ(i->manifests[5].platform->os_features, std::vector<std::string>{"win32k"});
  EXPECT_FALSE(i->manifests[7].platform);
  auto again = ParseIndex(SerializeIndex(*i));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *i);
}

TEST(IndexTest, RejectsBadDocuments) {
  const BadDocument cases[] = {
      {R"({"schemaVersion":2})", "manifests: required"},
      {R"({"schemaVersion":2,"mediaType":)"
       R"("application/vnd.docker.distribution.manifest.v2+json","manifests":[]})",
       "mediaType: \"application/vnd.docker.distribution.manifest.v2+json\" is not an index"},
      {R"({"schemaVersion":2,"manifests":[{"digest":")" + D('1') +
           R"(","size":1,"platform":{"architecture":"amd64"}}]})",
       "manifests[0].platform.os: required"},
      {R"({"schemaVersion":2,"manifests":[{"digest":")" + D('1') +
           R"(","size":1,"platform":{"architecture":"amd64","os":"linux","os.features":"x"}}]})",
       "manifests[0].platform.os.features: expected array"},
      {R"({"schemaVersion":2,"manifests":[{"digest":")" + D('1') +
           R"(","size":1},{"digest":"sha256:","size":1}]})",
       "manifests[1].digest: invalid digest"},
  };
  for (const auto& c : cases) {
    auto i = ParseIndex(c.json);
    ASSERT_FALSE(i) << c.json;
    EXPECT_EQ(i.error().message().substr(0, c.message.size()), c.message) << c.json;
  }
  auto docker_list =
      ParseIndex(R"({"schemaVersion":2,"mediaType":)"
                 R"("application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})");
  ASSERT_TRUE(docker_list) << docker_list.error().message();
}

TEST(DescriptorTest, NegativeZeroSizeIsZero) {
  auto d = ParseDescriptor(R"({"digest":")" + D('a') + R"(","size":-0})");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->size, 0);
}

TEST(DescriptorTest, ParsesAndSerialises) {
  auto d = ParseDescriptor(R"({"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" +
                           D('a') +
                           R"(","size":42,"platform":{"os":"linux","architecture":"arm",)"
                           R"("variant":"v7"}})");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->size, 42);
  ASSERT_TRUE(d->platform);
  EXPECT_EQ(d->platform->variant, "v7");
  EXPECT_EQ(SerializeDescriptor(*d),
            R"({"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" + D('a') +
                R"(","size":42,"platform":{"architecture":"arm","os":"linux","variant":"v7"}})");
  auto bad = ParseDescriptor(R"({"digest":")" + D('a') + R"(","size":true})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "size: expected integer");
}

TEST(MediaTypeTest, Detects) {
  EXPECT_EQ(*DetectManifestMediaType(kDockerManifest), media::kDockerManifest);
  EXPECT_EQ(*DetectManifestMediaType(kOciManifest), media::kOciManifest);
  EXPECT_EQ(*DetectManifestMediaType(R"({"schemaVersion":2,"manifests":[]})"), media::kOciIndex);
  EXPECT_EQ(*DetectManifestMediaType(R"({"schemaVersion":2,"mediaType":null,"layers":[]})"),
            media::kOciManifest);
  EXPECT_EQ(*DetectManifestMediaType(R"({"schemaVersion":2})"), "");
  EXPECT_FALSE(DetectManifestMediaType("{"));
  EXPECT_FALSE(DetectManifestMediaType(R"({"mediaType":5})"));
}

TEST(MediaTypeTest, Classifies) {
  EXPECT_TRUE(IsIndexMediaType(media::kOciIndex));
  EXPECT_TRUE(IsIndexMediaType(media::kDockerManifestList));
  EXPECT_FALSE(IsIndexMediaType(media::kOciManifest));
  EXPECT_TRUE(IsManifestMediaType(media::kOciManifest));
  EXPECT_TRUE(IsManifestMediaType(media::kDockerManifest));
  EXPECT_FALSE(IsManifestMediaType(media::kDockerManifestList));
  EXPECT_FALSE(IsManifestMediaType(""));
}

TEST(MediaTypeTest, LayerCompression) {
  const std::pair<std::string, Compression> cases[] = {
      {media::kOciLayer, Compression::kNone},
      {media::kOciLayerGzip, Compression::kGzip},
      {media::kOciLayerZstd, Compression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::kZstd},
      {media::kDockerLayerGzip, Compression::kGzip},
      {media::kDockerLayerForeignGzip, Compression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::kZstd},
  };
  for (const auto& [type, want] : cases) {
    auto c = LayerCompression(type);
    ASSERT_TRUE(c) << type;
    EXPECT_EQ(*c, want) << type;
  }
  for (const char* type : {media::kOciConfig, media::kOciManifest, media::kDockerConfig, "",
                           "application/vnd.oci.image.layer.v1.tar+bzip2"}) {
    auto c = LayerCompression(type);
    ASSERT_FALSE(c) << type;
    EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(PlatformTest, ForMachine) {
  const std::pair<std::string, std::string> cases[] = {
      {"x86_64", "amd64/"},  {"aarch64", "arm64/v8"}, {"armv7l", "arm/v7"},
      {"armv6l", "arm/v6"},  {"armv5tel", "arm/v5"},  {"armv8l", "arm/v8"},
      {"i686", "386/"},      {"i386", "386/"},        {"ppc64le", "ppc64le/"},
      {"s390x", "s390x/"},   {"riscv64", "riscv64/"}, {"loongarch64", "loong64/"},
      {"mips64", "mips64/"},
  };
  for (const auto& [machine, want] : cases) {
    Platform p = PlatformForMachine(machine);
    EXPECT_EQ(p.os, "linux");
    EXPECT_EQ(p.architecture + "/" + p.variant, want) << machine;
  }
}

TEST(PlatformTest, HostIsLinuxWithGoArchName) {
  Platform host = HostPlatform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_NE(host.architecture, "");
  EXPECT_NE(host.architecture, "x86_64");
  EXPECT_NE(host.architecture, "aarch64");
#if defined(__x86_64__)
  EXPECT_EQ(host.architecture, "amd64");
#endif
  EXPECT_TRUE(PlatformMatches(host, host));
}

TEST(PlatformTest, Parses) {
  struct Case {
    std::string text, os, arch, variant;
  };
  const Case cases[] = {
      {"linux/amd64", "linux", "amd64", ""},     {"linux/arm64/v8", "linux", "arm64", "v8"},
      {"linux/arm64/8", "linux", "arm64", "v8"}, {"linux/arm64", "linux", "arm64", ""},
      {"linux/arm/v7", "linux", "arm", "v7"},    {"linux/arm/6", "linux", "arm", "v6"},
      {"linux/aarch64", "linux", "arm64", ""},   {"linux/x86_64", "linux", "amd64", ""},
      {"linux/x86-64/v1", "linux", "amd64", ""}, {"linux/amd64/v3", "linux", "amd64", "v3"},
      {"linux/i386", "linux", "386", ""},        {"linux/armhf", "linux", "arm", "v7"},
      {"Linux/AMD64", "linux", "amd64", ""},     {"windows/amd64", "windows", "amd64", ""},
      {"macos/arm64", "darwin", "arm64", ""},    {"arm64", "linux", "arm64", ""},
      {"s390x", "linux", "s390x", ""},
  };
  for (const auto& c : cases) {
    auto p = ParsePlatform(c.text);
    ASSERT_TRUE(p) << c.text << ": " << p.error().message();
    EXPECT_EQ(p->os, c.os) << c.text;
    EXPECT_EQ(p->architecture, c.arch) << c.text;
    EXPECT_EQ(p->variant, c.variant) << c.text;
  }
  auto os_only = ParsePlatform("linux");
  ASSERT_TRUE(os_only);
  EXPECT_EQ(*os_only, HostPlatform());

  for (const char* bad : {"", "/", "linux/", "/amd64", "linux//v7", "linux/arm/v7/x",
                          "linux/amd 64", "linux/amd64\n", "bogus", "linux/arm:v7"}) {
    auto p = ParsePlatform(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(p.error().message().find("invalid platform"), std::string::npos);
  }
}

TEST(PlatformTest, Matches) {
  struct Case {
    Platform want, have;
    bool match;
  };
  const Case cases[] = {
      {{"linux", "amd64"}, {"linux", "amd64"}, true},
      {{"linux", "amd64"}, {"windows", "amd64"}, false},
      {{"linux", "amd64"}, {"linux", "arm64"}, false},
      {{"linux", "arm64"}, {"linux", "arm64", "v8"}, true},
      {{"linux", "arm64", "v8"}, {"linux", "arm64"}, true},
      {{"linux", "arm64", "v8"}, {"linux", "aarch64", "8"}, true},
      {{"linux", "arm64", "v9"}, {"linux", "arm64"}, false},
      {{"linux", "arm"}, {"linux", "arm", "v7"}, true},
      {{"linux", "arm", "v7"}, {"linux", "arm"}, true},
      {{"linux", "arm", "v7"}, {"linux", "arm", "v6"}, false},
      {{"linux", "arm", "v6"}, {"linux", "arm"}, false},
      {{"linux", "amd64"}, {"linux", "x86_64"}, true},
      {{"linux", "amd64"}, {"linux", "amd64", "v1"}, true},
      {{"linux", "amd64"}, {"linux", "amd64", "v3"}, false},
      {{"linux", "386"}, {"linux", "i386"}, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PlatformMatches(c.want, c.have), c.match)
        << c.want.os << "/" << c.want.architecture << "/" << c.want.variant << " vs " << c.have.os
        << "/" << c.have.architecture << "/" << c.have.variant;
  }
}

TEST(PlatformTest, SelectsFromIndex) {
  auto index = ParseIndex(kIndex);
  ASSERT_TRUE(index);
  auto pick = [&](Platform want) -> std::string {
    auto d = SelectPlatform(*index, want);
    return d ? d->digest.ToString() : d.error().message();
  };
  EXPECT_EQ(pick({"linux", "amd64"}), D('1'));
  // arm64 and arm64/v8 mean the same; the entry spelled as asked wins.
  EXPECT_EQ(pick({"linux", "arm64"}), D('2'));
  EXPECT_EQ(pick({"linux", "arm64", "v8"}), D('3'));
  EXPECT_EQ(pick({"linux", "arm", "v6"}), D('4'));
  EXPECT_EQ(pick({"linux", "arm"}), D('5'));
  EXPECT_EQ(pick({"windows", "amd64"}), D('6'));
  EXPECT_EQ(pick({"linux", "riscv64"}),
            "no matching manifest for linux/riscv64 in the manifest list entries");
  EXPECT_EQ(pick({"linux", "arm", "v5"}),
            "no matching manifest for linux/arm/v5 in the manifest list entries");
  EXPECT_EQ(SelectPlatform(*index, {"linux", "s390x"}).error().code(), ErrorCode::kNotFound);

  // The first of several exact matches.
  Index dup;
  dup.manifests = {
      {.digest = *Digest::Parse(D('a')), .platform = Platform{"linux", "arm64", "v8"}},
      {.digest = *Digest::Parse(D('b')), .platform = Platform{"linux", "arm64"}},
      {.digest = *Digest::Parse(D('c')), .platform = Platform{"linux", "arm64"}},
  };
  EXPECT_EQ(SelectPlatform(dup, {"linux", "arm64"})->digest.ToString(), D('b'));
  EXPECT_EQ(SelectPlatform(dup, {"linux", "arm64", "v8"})->digest.ToString(), D('a'));
  EXPECT_EQ(SelectPlatform(dup, {"linux", "aarch64", "8"})->digest.ToString(), D('a'));
}

TEST(ChainIdTest, FollowsImageSpec) {
  EXPECT_TRUE(ChainIds({}).empty());
  Digest a = Sha256Of("a"), b = Sha256Of("b"), c = Sha256Of("c");
  std::vector<Digest> chain = ChainIds({a, b, c});
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], a);
  EXPECT_EQ(chain[1], Sha256Of(a.ToString() + " " + b.ToString()));
  EXPECT_EQ(chain[2], Sha256Of(chain[1].ToString() + " " + c.ToString()));
  // A known value: sha256("sha256:<a> sha256:<b>") for the two digests below.
  Digest x = *Digest::Parse("sha256:" + std::string(64, '0'));
  Digest y = *Digest::Parse("sha256:" + std::string(64, '1'));
  EXPECT_EQ(ChainIds({x, y})[1].hex(),
            Sha256Of("sha256:" + std::string(64, '0') + " sha256:" + std::string(64, '1')).hex());
}

// A Docker-built image config, as `docker image inspect` stores it (trimmed).
const std::string kDockerConfig = R"({
  "architecture": "amd64",
  "config": {
    "Hostname": "",
    "User": "nginx",
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NGINX_VERSION=1.25.3"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {"/var/cache/nginx": {}},
    "WorkingDir": "/",
    "Labels": {"maintainer": "NGINX Docker Maintainers", "gone": null},
    "StopSignal": "SIGQUIT",
    "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                    "Interval": 30000000000},
    "OnBuild": null
  },
  "container": "abc",
  "created": "2023-11-01T02:11:24.123Z",
  "docker_version": "20.10.23",
  "author": "someone",
  "history": [
    {"created": "2023-10-11T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2023-10-11T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"bash\"]",
     "empty_layer": true, "comment": "buildkit.dockerfile.v0", "author": "me"}
  ],
  "os": "linux",
  "variant": null,
  "rootfs": {"type": "layers", "diff_ids": [")" +
                                  D('1') + R"(", ")" + D('2') + R"("]}
})";

TEST(ImageConfigTest, ParsesDockerConfig) {
  auto c = ParseImageConfig(kDockerConfig);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->variant, "");
  EXPECT_EQ(c->created, "2023-11-01T02:11:24.123Z");
  EXPECT_EQ(c->author, "someone");
  EXPECT_EQ(c->config.user, "nginx");
  EXPECT_EQ(c->config.exposed_ports, (std::vector<std::string>{"443/tcp", "80/tcp"}));
  EXPECT_EQ(c->config.env.size(), 2u);
  EXPECT_EQ(c->config.entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(c->config.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c->config.volumes, std::vector<std::string>{"/var/cache/nginx"});
  EXPECT_EQ(c->config.working_dir, "/");
  EXPECT_EQ(c->config.labels,
            (std::map<std::string, std::string>{{"maintainer", "NGINX Docker Maintainers"}}));
  EXPECT_EQ(c->config.stop_signal, "SIGQUIT");
  ASSERT_TRUE(c->config.healthcheck_test);
  EXPECT_EQ(c->config.healthcheck_test->at(0), "CMD-SHELL");
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].ToString(), D('2'));
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_FALSE(c->history[0].empty_layer);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[1].comment, "buildkit.dockerfile.v0");
  EXPECT_EQ(c->history[1].author, "me");

  auto again = ParseImageConfig(SerializeImageConfig(*c));
  ASSERT_TRUE(again) << SerializeImageConfig(*c);
  EXPECT_EQ(*again, *c);
}

TEST(ImageConfigTest, NullsAreAbsent) {
  auto c = ParseImageConfig(
      R"({"architecture":"arm64","os":"linux","variant":"v8","config":{"Cmd":null,)"
      R"("Entrypoint":null,"Env":null,"ExposedPorts":null,"Volumes":null,"Labels":null,)"
      R"("Healthcheck":null,"User":null},"history":null,)"
      R"("rootfs":{"type":"layers","diff_ids":null}})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->config.cmd.empty());
  EXPECT_FALSE(c->config.healthcheck_test);
  EXPECT_TRUE(c->diff_ids.empty());
  EXPECT_EQ(c->variant, "v8");

  auto bare = ParseImageConfig(R"({"rootfs":{"type":"layers"},"config":null})");
  ASSERT_TRUE(bare) << bare.error().message();
  auto hc =
      ParseImageConfig(R"({"rootfs":{"type":"layers"},"config":{"Healthcheck":{"Test":[]}}})");
  ASSERT_TRUE(hc);
  ASSERT_TRUE(hc->config.healthcheck_test);
  EXPECT_TRUE(hc->config.healthcheck_test->empty());
}

TEST(ImageConfigTest, SerialisesWithStableKeyOrder) {
  ImageConfig c;
  c.created = "2024-01-01T00:00:00Z";
  c.architecture = "amd64";
  c.os = "linux";
  c.config.cmd = {"sh"};
  c.config.exposed_ports = {"80/tcp"};
  c.config.labels = {{"b", "2"}, {"a", "1"}};
  c.config.healthcheck_test = std::vector<std::string>{"NONE"};
  c.diff_ids = {*Digest::Parse(D('1'))};
  c.history = {{.created_by = "x", .empty_layer = true}};
  EXPECT_EQ(SerializeImageConfig(c),
            R"({"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux",)"
            R"("config":{"ExposedPorts":{"80/tcp":{}},"Cmd":["sh"],"Labels":{"a":"1","b":"2"},)"
            R"("Healthcheck":{"Test":["NONE"]}},"rootfs":{"type":"layers","diff_ids":[")" +
                D('1') + R"("]},"history":[{"created_by":"x","empty_layer":true}]})");
}

TEST(ImageConfigTest, RejectsBadDocumentsNamingTheField) {
  const std::string rootfs = R"("rootfs":{"type":"layers"})";
  const BadDocument cases[] = {
      {"nope", "image config: invalid JSON: "},
      {"{}", "rootfs: required"},
      {R"({"rootfs":[]})", "rootfs: expected object"},
      {R"({"rootfs":{}})", "rootfs.type: expected \"layers\", got \"\""},
      {R"({"rootfs":{"type":"foo"}})", "rootfs.type: expected \"layers\", got \"foo\""},
      {R"({"rootfs":{"type":"layers","diff_ids":{}}})", "rootfs.diff_ids: expected array"},
      {R"({"rootfs":{"type":"layers","diff_ids":[")" + D('1') + R"(","sha256:x"]}})",
       "rootfs.diff_ids[1]: invalid digest \"sha256:x\""},
      {R"({"architecture":1,)" + rootfs + "}", "architecture: expected string"},
      {R"({"config":[],)" + rootfs + "}", "config: expected object"},
      {R"({"config":{"Env":["A=1",2]},)" + rootfs + "}", "config.Env[1]: expected string"},
      {R"({"config":{"Cmd":"sh"},)" + rootfs + "}", "config.Cmd: expected array"},
      {R"({"config":{"ExposedPorts":["80/tcp"]},)" + rootfs + "}",
       "config.ExposedPorts: expected object"},
      {R"({"config":{"Volumes":"/data"},)" + rootfs + "}", "config.Volumes: expected object"},
      {R"({"config":{"Labels":{"a":1}},)" + rootfs + "}", "config.Labels[\"a\"]: expected string"},
      {R"({"config":{"Healthcheck":{"Test":"x"}},)" + rootfs + "}",
       "config.Healthcheck.Test: expected array"},
      {R"({"history":{},)" + rootfs + "}", "history: expected array"},
      {R"({"history":[{},{"empty_layer":"yes"}],)" + rootfs + "}",
       "history[1].empty_layer: expected boolean"},
      {R"({"history":[{"created_by":1}],)" + rootfs + "}",
       "history[0].created_by: expected string"},
  };
  for (const auto& c : cases) {
    auto r = ParseImageConfig(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message().substr(0, c.message.size()), c.message) << c.json;
  }
}

}  // namespace
}  // namespace berth::oci
