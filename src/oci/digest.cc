// Digest parsing/validation and SHA-256 hashing through OpenSSL's EVP interface.
#include "oci/digest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cstdlib>

namespace berth::oci {
namespace {

using base::Error;
using base::Fail;
using base::Result;

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string HexOf(const unsigned char* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return Fail(Error::InvalidArgument(fmt::format("invalid digest \"{}\": {}", text, why)));
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return invalid("expected algorithm:hex");
  std::string_view algorithm = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  size_t want = 0;
  if (algorithm == "sha256") {
    want = 64;
  } else if (algorithm == "sha512") {
    want = 128;
  } else if (algorithm.empty()) {
    return invalid("missing algorithm");
  } else {
    return invalid(fmt::format("unsupported algorithm \"{}\"", algorithm));
  }
  if (hex.size() != want || !IsLowerHex(hex)) {
    return invalid(fmt::format("{} needs {} lowercase hex characters", algorithm, want));
  }
  Digest d;
  d.algorithm_ = std::string(algorithm);
  d.hex_ = std::string(hex);
  return d;
}

Digest Digest::Sha256FromHex(std::string hex) {
  Digest d;
  d.algorithm_ = "sha256";
  d.hex_ = std::move(hex);
  return d;
}

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  bool finished = false;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  // Only allocation failure can make these fail; a hash that silently hashes nothing would be
  // worse than stopping.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::Update(const void* data, size_t size) {
  if (state_->finished) std::abort();
  if (size > 0 && EVP_DigestUpdate(state_->ctx, data, size) != 1) std::abort();
}

Digest Sha256::Finish() {
  if (state_->finished) std::abort();
  state_->finished = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(state_->ctx, md, &len) != 1) std::abort();
  return Digest::Sha256FromHex(HexOf(md, len));
}

Digest Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace berth::oci
