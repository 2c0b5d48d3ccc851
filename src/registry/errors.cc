// HTTP status and registry error-body mapping.
#include "registry/errors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::registry {

using base::ErrorCode;

ErrorCode CodeForStatus(int status) {
  switch (status) {
    case 400:
    case 405:
    case 411:
    case 413:
    case 416:
      return ErrorCode::kInvalidArgument;
    case 401:
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 408:
    case 429:
      return ErrorCode::kUnavailable;
    default:
      return status >= 500 && status < 600 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
}

std::string RegistryErrorText(std::string_view body) {
  using nlohmann::json;
  try {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return "";
    auto errors = doc.find("errors");
    if (errors == doc.end() || !errors->is_array()) return "";
    std::string out;
    for (const json& e : *errors) {
      if (!e.is_object()) continue;
      std::string code, message;
      if (auto c = e.find("code"); c != e.end() && c->is_string()) code = c->get<std::string>();
      if (auto m = e.find("message"); m != e.end() && m->is_string()) {
        message = m->get<std::string>();
      }
      // Docker renders a code as its lowercased words: MANIFEST_UNKNOWN -> "manifest unknown".
      std::transform(code.begin(), code.end(), code.begin(),
                     [](unsigned char ch) { return ch == '_' ? ' ' : char(std::tolower(ch)); });
      std::string one = code.empty() ? message : message.empty() ? code : code + ": " + message;
      if (one.empty()) continue;
      if (!out.empty()) out += "; ";
      out += one;
    }
    // A hostile registry must not fill our logs.
    if (out.size() > 1024) out = out.substr(0, 1024) + "...";
    return out;
  } catch (const std::exception&) {
    return "";
  }
}

base::Error ErrorFromResponse(int status, std::string_view body, std::string_view what) {
  std::string text = RegistryErrorText(body);
  if (text.empty()) {
    text =
        status == 401 ? "unauthorized: authentication required" : "HTTP " + std::to_string(status);
  }
  std::string message = what.empty() ? text : std::string(what) + ": " + text;
  return base::Error(CodeForStatus(status), std::move(message));
}

bool IsRetryableStatus(int status) {
  return status == 408 || status == 429 || (status >= 500 && status < 600 && status != 501);
}

}  // namespace berth::registry
