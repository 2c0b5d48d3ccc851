// SHA-256 (FIPS 180-4) for the seccomp filter cache (seccomp.cc): the cache key of a profile and
// the check of a cached program. Local because the runtime does not link libcrypto into the shim
// (OpenSSL's initialisation doubled a shim's resident memory); the key must be collision
// resistant, since a profile crafted to collide with another would be served its filter.
//
// Uses the CPU's SHA extensions (x86_64 SHA-NI) when it has them: the portable code took ~0.9 M
// instructions (~0.25 ms on the reference VM) of every container start for the key and the check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace berth::runtime::linux {

class Sha256 {
 public:
  Sha256() { Reset(); }
  void Update(std::string_view data);
  // The digest of everything given since construction (or the last Finish), which resets.
  std::array<uint8_t, 32> Finish();

  // Which block function this process uses: the SHA extensions, or the portable one.
  static bool UsesShaExtensions();

 private:
  void Reset();

  uint32_t h_[8];
  uint8_t block_[64];
  size_t block_len_;
  uint64_t total_bytes_;
};

std::array<uint8_t, 32> Sha256Of(std::string_view data);

namespace internal {
// The block functions (`blocks` 64-byte blocks of `data` into `state`), for tests that compare
// them. ShaNiBlocks must only be called when Sha256::UsesShaExtensions().
void PortableBlocks(uint32_t state[8], const uint8_t* data, size_t blocks);
void ShaNiBlocks(uint32_t state[8], const uint8_t* data, size_t blocks);
}  // namespace internal

}  // namespace berth::runtime::linux
