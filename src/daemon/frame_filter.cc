#include "daemon/frame_filter.h"

#include <algorithm>
#include <cstdint>

namespace berth::daemon {

bool FrameFilter::Wanted(unsigned char stream) const {
  if (stream == 1) return want_stdout_;
  if (stream == 2) return want_stderr_;
  return true;
}

std::string FrameFilter::Feed(std::string_view data) {
  if (!Active()) return std::string(data);
  std::string out;
  while (!data.empty()) {
    if (remaining_ == 0) {
      size_t take = std::min(data.size(), 8 - header_.size());
      header_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (header_.size() < 8) break;
      auto byte = [&](size_t i) { return static_cast<unsigned char>(header_[i]); };
      remaining_ = (uint32_t{byte(4)} << 24) | (uint32_t{byte(5)} << 16) |
                   (uint32_t{byte(6)} << 8) | uint32_t{byte(7)};
      passing_ = Wanted(byte(0));
      if (passing_) out += header_;
      header_.clear();
      continue;
    }
    size_t take = std::min(data.size(), remaining_);
    if (passing_) out.append(data.substr(0, take));
    data.remove_prefix(take);
    remaining_ -= take;
  }
  return out;
}

}  // namespace berth::daemon
