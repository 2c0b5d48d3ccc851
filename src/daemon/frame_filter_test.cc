#include "daemon/frame_filter.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

std::string Frame(char stream, std::string_view payload) {
  std::string f(8, '\0');
  f[0] = stream;
  uint32_t n = static_cast<uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + std::string(payload);
}

TEST(FrameFilterTest, BothStreamsPassEverythingUnchanged) {
  FrameFilter f(true, true);
  EXPECT_FALSE(f.Active());
  std::string in = Frame(1, "out\n") + Frame(2, "err\n") + "partial";
  EXPECT_EQ(f.Feed(in), in);
}

TEST(FrameFilterTest, DropsTheUnwantedStream) {
  FrameFilter f(true, false);
  std::string in = Frame(1, "a\n") + Frame(2, "bb\n") + Frame(1, "c\n");
  EXPECT_EQ(f.Feed(in), Frame(1, "a\n") + Frame(1, "c\n"));
}

TEST(FrameFilterTest, FramesSplitAnywhereAcrossFeeds) {
  std::string in = Frame(2, "error line\n") + Frame(1, "output line\n") + Frame(2, "") +
                   Frame(1, std::string(70000, 'x'));
  for (size_t step : {1u, 3u, 7u, 8u, 9u, 4096u}) {
    FrameFilter f(false, true);
    std::string out;
    for (size_t i = 0; i < in.size(); i += step)
      out += f.Feed(std::string_view(in).substr(i, step));
    EXPECT_EQ(out, Frame(2, "error line\n") + Frame(2, "")) << "step " << step;
  }
}

TEST(FrameFilterTest, UnknownStreamTypesPass) {
  FrameFilter f(false, false);
  EXPECT_EQ(f.Feed(Frame(0, "in") + Frame(1, "x") + Frame(3, "sys")),
            Frame(0, "in") + Frame(3, "sys"));
}

}  // namespace
}  // namespace berth::daemon
