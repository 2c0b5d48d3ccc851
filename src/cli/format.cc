// Docker-shaped output formatting.
#include "cli/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <iterator>

namespace berth::cli {

// Docker's units.HumanSizeWithPrecision(size, 3).
std::string HumanSize(int64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = double(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.3g}{}", v, kUnits[u]);
}

// Docker's units.HumanDuration(now - t) + " ago".
std::string Ago(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "N/A";
  int64_t d = int64_t(time(nullptr)) - unix_seconds;
  if (d < 1) return "Less than a second ago";
  if (d < 60) return fmt::format("{} seconds ago", d);
  int64_t m = d / 60, h = d / 3600, days = h / 24;
  if (m == 1) return "About a minute ago";
  if (m < 60) return fmt::format("{} minutes ago", m);
  if (h == 1) return "About an hour ago";
  if (h < 48) return fmt::format("{} hours ago", h);
  if (h < 24 * 7 * 2) return fmt::format("{} days ago", days);
  if (h < 24 * 30 * 2) return fmt::format("{} weeks ago", days / 7);
  if (h < 24 * 365 * 2) return fmt::format("{} months ago", days / 30);
  return fmt::format("{} years ago", days / 365);
}

// Prints rows as Go's tabwriter with padding 3 does (docker's table output).
void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    fmt::print(out, "{}\n", line);
  }
}

}  // namespace berth::cli
