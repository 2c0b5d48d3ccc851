// A subset of Go's text/template over JSON data: enough for docker's `--format` (ps) and
// `inspect -f`. Supported: text; {{.A.B}}, {{.}}, {{$}}, {{$.A}}, variables bound by range;
// pipelines with `|`; literals ("s", `raw`, 12, 1.5, true, false, nil); parentheses; {{if}},
// {{else}}, {{else if}}, {{range [$k, $v :=] ...}}, {{with}}, {{end}}, {{/* comments */}}, and
// the `{{-` / `-}}` whitespace trims. Functions: Go's (and, or, not, eq, ne, lt, le, gt, ge, len,
// index, print, printf, println) and docker's (json, join, split, lower, upper, title, truncate,
// pad). Fields that are not in the data print "<no value>", as Go prints a missing map key.
//
// Values print as Go's fmt %v prints the decoded JSON: "map[a:1 b:x]", "[x y]", "<nil>",
// integers without a fraction.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::cli {

class Template {
 public:
  // Called as `.Name arg...` on the dot (docker's `{{.Label "com.example"}}` on ps rows).
  using Method = std::function<nlohmann::json(const nlohmann::json& dot,
                                              const std::vector<nlohmann::json>& args)>;

  // Parse errors are kInvalidArgument, worded like Go's ("template: unexpected {{end}}").
  static base::Result<Template> Parse(std::string_view text);

  // Runs the template. Errors (a function given the wrong arguments, an unknown function) are
  // kInvalidArgument. Thread-safe: Execute does not modify the template.
  base::Result<std::string> Execute(const nlohmann::json& data,
                                    const std::map<std::string, Method>& methods = {}) const;

  struct Node;

 private:
  std::shared_ptr<const std::vector<Node>> root_;
};

// Go's fmt %v of a JSON value, as text/template prints it.
std::string GoString(const nlohmann::json& value);

}  // namespace berth::cli
