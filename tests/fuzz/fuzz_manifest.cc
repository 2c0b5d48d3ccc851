// libFuzzer target for the image-spec parsers (manifest, index, config, descriptor): any input
// must parse or fail cleanly, and whatever parses must survive a serialise/parse round trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/image_spec.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_manifest: %s\n%s\n", what, detail.c_str());
  std::abort();
}

template <typename T, typename Parse, typename Serialize>
void CheckRoundTrip(const T& parsed, Parse parse, Serialize serialize, const char* what) {
  std::string out = serialize(parsed);
  auto again = parse(out);
  if (!again) Die(what, "serialised form does not parse: " + again.error().message() + "\n" + out);
  if (!(*again == parsed)) Die(what, "round trip changed the value:\n" + out);
  if (serialize(*again) != out) Die(what, "serialisation is not stable:\n" + out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace oci = berth::oci;

  (void)oci::DetectManifestMediaType(text);
  if (auto m = oci::ParseManifest(text)) {
    CheckRoundTrip(*m, oci::ParseManifest, oci::SerializeManifest, "manifest");
    (void)oci::LayerCompression(m->config.media_type);
    for (const auto& layer : m->layers) (void)oci::LayerCompression(layer.media_type);
  }
  if (auto index = oci::ParseIndex(text)) {
    CheckRoundTrip(*index, oci::ParseIndex, oci::SerializeIndex, "index");
    (void)oci::SelectPlatform(*index, oci::HostPlatform());
    for (const auto& d : index->manifests) {
      if (d.platform) (void)oci::SelectPlatform(*index, *d.platform);
    }
  }
  if (auto config = oci::ParseImageConfig(text)) {
    CheckRoundTrip(*config, oci::ParseImageConfig, oci::SerializeImageConfig, "config");
    if (oci::ChainIds(config->diff_ids).size() != config->diff_ids.size())
      Die("config", "chain IDs do not match diff IDs");
  }
  if (auto d = oci::ParseDescriptor(text))
    CheckRoundTrip(*d, oci::ParseDescriptor, oci::SerializeDescriptor, "descriptor");
  if (auto p = oci::ParsePlatform(text)) (void)oci::PlatformMatches(*p, oci::HostPlatform());
  return 0;
}
