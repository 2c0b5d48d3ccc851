// Time formatting in the shapes Docker and the OCI tools print.
#pragma once

#include <ctime>
#include <string>

namespace berth::base {

// RFC 3339 with nanoseconds in UTC: "2026-11-28T05:37:10.123456789Z".
std::string FormatRfc3339Nano(const struct timespec& ts);
std::string NowRfc3339Nano();

}  // namespace berth::base
