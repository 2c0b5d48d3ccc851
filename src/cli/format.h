// Output formatting shared by the CLI commands, in the shapes the docker CLI prints.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace berth::cli {

// Docker's units.HumanSizeWithPrecision(size, 3): decimal units ("2.14MB").
std::string HumanSize(int64_t bytes);
// Docker's units.HumanDuration(now - t) + " ago" ("About a minute ago").
std::string Ago(int64_t unix_seconds);
// Rows padded like Go's tabwriter with padding 3 (docker's table output).
void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows);

}  // namespace berth::cli
