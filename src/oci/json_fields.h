// Shared by the oci JSON readers: field-path error messages ("layers[1].digest: ...") and
// exception-free parsing of a document that must be an object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::oci::internal {

base::Error FieldError(std::string_view path, std::string_view what);
// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string Member(const std::string& path, std::string_view key);
// "a" + 2 -> "a[2]".
std::string Element(const std::string& path, size_t i);
// `what` names the document in errors that have no field path ("config: invalid JSON: ...").
base::Result<nlohmann::json> ParseObject(std::string_view text, std::string_view what);

}  // namespace berth::oci::internal
