// libFuzzer target for the OCI config parser: any input must parse or fail cleanly, validation
// must not crash, and whatever parses must survive a serialise/parse round trip unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/runtime_config.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_spec: %s\n%s\n", what, detail.c_str());
  std::abort();
}

template <typename T, typename Parse, typename Serialize>
void CheckRoundTrip(const T& parsed, Parse parse, Serialize serialize, const char* what) {
  std::string out = serialize(parsed);
  auto again = parse(out);
  if (!again) Die(what, "serialised form does not parse: " + again.error().message() + "\n" + out);
  if (!(*again == parsed)) Die(what, "round trip changed the value:\n" + out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace oci = berth::oci;

  if (auto spec = oci::ParseSpec(text)) {
    (void)oci::ValidateSpec(*spec);
    CheckRoundTrip(*spec, oci::ParseSpec, oci::SerializeSpec, "spec");
    // A config parsed with its own profile known ahead reads as it does without.
    if (spec->linux && spec->linux->seccomp) {
      auto known = oci::ParseKnownSeccomp(oci::SeccompValueText(*spec->linux->seccomp));
      if (!known) Die("spec", "profile text does not parse: " + known.error().message());
      std::string out = oci::SerializeSpec(*spec);
      auto with = oci::ParseSpecWith(out, &*known);
      if (!with || !(*with == *spec)) Die("spec", "ParseSpecWith differs:\n" + out);
      auto as_given = oci::ParseSpecWith(text, &*known);
      if (!as_given || !(*as_given == *spec)) Die("spec", "ParseSpecWith differs on the input");
    }
  }
  if (auto resources = oci::ParseResources(text))
    CheckRoundTrip(*resources, oci::ParseResources, oci::SerializeResources, "resources");
  if (auto state = oci::ParseState(text))
    CheckRoundTrip(*state, oci::ParseState, oci::SerializeState, "state");
  (void)oci::ParseProcess(text);
  return 0;
}
