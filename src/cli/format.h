// Output formatting shared by the CLI commands, in the shapes the docker CLI prints.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/template.h"

namespace berth::cli {

// Docker's units.HumanSizeWithPrecision(size, 3): decimal units ("2.14MB").
std::string HumanSize(int64_t bytes);
// Docker's units.HumanDuration(now - t) + " ago" ("About a minute ago").
std::string Ago(int64_t unix_seconds);
// Rows padded like Go's tabwriter with padding 3 (docker's table output); `min_width` is the
// tabwriter's minwidth (docker top uses 20). The last cell of a row is not padded.
void PrintTable(std::FILE* out, const std::vector<std::vector<std::string>>& rows,
                size_t min_width = 0);
// Docker's units.BytesSize: four significant digits, binary units ("1.5MiB").
std::string BytesSize(double bytes);

// docker's formatter for list commands (ps, stats): `format` is a Go template over each row
// ("table " prefix: a header row rendered from `headers`, columns aligned; "json": each row as
// one JSON object per line), with the \t and \n escapes docker accepts. Prints to stdout;
// returns false after printing a template error to stderr.
bool PrintFormatted(const std::string& format, const std::vector<nlohmann::json>& rows,
                    const nlohmann::json& headers,
                    const std::map<std::string, Template::Method>& methods = {},
                    const std::map<std::string, Template::Method>& header_methods = {});

}  // namespace berth::cli
