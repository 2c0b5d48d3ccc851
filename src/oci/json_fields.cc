// Field-path errors and object parsing for the oci JSON readers.
#include "oci/json_fields.h"

#include <fmt/format.h>

namespace berth::oci::internal {

using base::Error;
using base::Fail;

Error FieldError(std::string_view path, std::string_view what) {
  return Error::InvalidArgument(fmt::format("{}: {}", path, what));
}

std::string Member(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string Element(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

base::Result<nlohmann::json> ParseObject(std::string_view text, std::string_view what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Fail(Error::InvalidArgument(fmt::format("{}: invalid JSON: {}", what, e.what())));
  }
  if (!j.is_object()) return Fail(Error::InvalidArgument(fmt::format("{}: expected object", what)));
  return j;
}

}  // namespace berth::oci::internal
