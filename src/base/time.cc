// RFC 3339 formatting.
#include "base/time.h"

#include <fmt/format.h>

#include <chrono>

namespace berth::base {

std::string FormatRfc3339Nano(const struct timespec& ts) {
  // Civil date by arithmetic (std::chrono), not gmtime_r: glibc's gmtime_r loads the time zone
  // (opens and parses /etc/localtime) on its first call, which every runtime start would pay.
  using namespace std::chrono;
  const sys_seconds secs{seconds{ts.tv_sec}};
  const sys_days day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(), ts.tv_nsec);
}

std::string NowRfc3339Nano() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return FormatRfc3339Nano(ts);
}

}  // namespace berth::base
