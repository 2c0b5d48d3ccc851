// Content digests ("sha256:<64 hex>") and SHA-256 hashing (OpenSSL libcrypto).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::oci {

class Digest {
 public:
  Digest() = default;
  // Accepts "sha256:<64 lowercase hex>" (and "sha512:<128 hex>"); InvalidArgument otherwise
  // ("invalid digest \"x\": ...").
  static base::Result<Digest> Parse(std::string_view text);
  static Digest Sha256FromHex(std::string hex);  // caller guarantees 64 lowercase hex chars

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string ToString() const { return algorithm_ + ":" + hex_; }
  bool empty() const { return hex_.empty(); }
  bool operator==(const Digest&) const = default;
  auto operator<=>(const Digest&) const = default;

 private:
  std::string algorithm_;
  std::string hex_;
};

// Incremental SHA-256. Not copyable; Finish() may be called once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  Digest Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Digest Sha256Of(std::string_view data);

}  // namespace berth::oci
