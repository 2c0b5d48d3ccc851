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
// Display width: UTF-8 code points ("…" is one column, three bytes).
static size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows,
                size_t min_width) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], Width(r[i]));
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size())
        line += std::string(std::max(width[i] + 3, min_width) - Width(r[i]), ' ');
    }
    fmt::print(out, "{}\n", line);
  }
}

std::string BytesSize(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t i = 0;
  while (bytes >= 1024 && i + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++i;
  }
  return fmt::format("{:.4g}{}", bytes, kUnits[i]);
}

bool PrintFormatted(const std::string& format_text, const std::vector<nlohmann::json>& rows,
                    const nlohmann::json& headers,
                    const std::map<std::string, Template::Method>& methods,
                    const std::map<std::string, Template::Method>& header_methods) {
  if (format_text == "json") {
    for (const auto& r : rows) fmt::print("{}\n", r.dump());
    return true;
  }
  std::string format = format_text;
  bool table = format.rfind("table", 0) == 0;
  if (table) format = format.substr(5);
  // docker: trim spaces, then the \t and \n escapes become the characters.
  size_t b = format.find_first_not_of(' '), e = format.find_last_not_of(' ');
  format = b == std::string::npos ? "" : format.substr(b, e - b + 1);
  std::string text;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '\\' && i + 1 < format.size() &&
        (format[i + 1] == 't' || format[i + 1] == 'n')) {
      text += format[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      text += format[i];
    }
  }
  auto tmpl = Template::Parse(text);
  if (!tmpl) {
    fmt::print(stderr, "{}\n", tmpl.error().message());
    return false;
  }
  std::vector<std::vector<std::string>> cells;
  auto add = [&](const nlohmann::json& data,
                 const std::map<std::string, Template::Method>& m) -> bool {
    auto out = tmpl->Execute(data, m);
    if (!out) {
      fmt::print(stderr, "{}\n", out.error().message());
      return false;
    }
    if (!table) {
      fmt::print("{}\n", *out);
      return true;
    }
    std::vector<std::string> row;
    size_t start = 0, tab;
    while ((tab = out->find('\t', start)) != std::string::npos) {
      row.push_back(out->substr(start, tab - start));
      start = tab + 1;
    }
    row.push_back(out->substr(start));
    cells.push_back(std::move(row));
    return true;
  };
  if (table && !add(headers, header_methods)) return false;
  for (const auto& r : rows)
    if (!add(r, methods)) return false;
  if (table) PrintTable(stdout, cells);
  return true;
}

}  // namespace berth::cli
