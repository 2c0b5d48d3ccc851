// libFuzzer target for image references and digests: any input must parse or fail cleanly, and
// the normalised form of whatever parses must parse back to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/digest.h"
#include "oci/reference.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_reference: %s\n%s\n", what, detail.c_str());
  std::abort();
}

template <typename Parse>
void CheckFixedPoint(std::string_view input, Parse parse, const char* what) {
  auto ref = parse(input);
  if (!ref) return;
  std::string canonical = ref->String();
  auto again = parse(canonical);
  if (!again)
    Die(what, "normalised form does not parse: " + again.error().message() + "\n" + canonical);
  if (!(*again == *ref)) Die(what, "normalised form parses differently:\n" + canonical);
  // Familiar forms can be ambiguous by design (docker.io/a.b/c is "a.b/c", a domain), so they
  // only have to be computable.
  (void)ref->FamiliarString();
  (void)berth::oci::RegistryHost(ref->domain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace oci = berth::oci;

  CheckFixedPoint(text, oci::ParseReference, "reference");
  CheckFixedPoint(text, oci::ParseNamedReference, "named reference");
  if (auto d = oci::Digest::Parse(text)) {
    auto again = oci::Digest::Parse(d->ToString());
    if (!again || !(*again == *d)) Die("digest", "round trip changed the digest");
  }
  return 0;
}
