// Selecting streams out of Docker's multiplexed framing (8-byte headers: stream type, three
// zero bytes, big-endian payload length), for attach with stdout=0 or stderr=0: the shim always
// sends both, and the frames of the stream not asked for are dropped on their way out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::daemon {

class FrameFilter {
 public:
  FrameFilter(bool want_stdout, bool want_stderr)
      : want_stdout_(want_stdout), want_stderr_(want_stderr) {}

  // Whether anything would be dropped at all (else the bytes can be copied as they come).
  bool Active() const { return !want_stdout_ || !want_stderr_; }

  // The bytes of `data` to pass on. Frames may be split anywhere across calls; a frame of an
  // unknown stream type (stdin, 0) is passed on, as is everything with both streams wanted.
  std::string Feed(std::string_view data);

 private:
  bool Wanted(unsigned char stream) const;

  bool want_stdout_, want_stderr_;
  std::string header_;    // bytes of the current header seen so far (< 8)
  size_t remaining_ = 0;  // payload bytes of the current frame still to come
  bool passing_ = true;   // whether the current frame's payload is passed on
};

}  // namespace berth::daemon
