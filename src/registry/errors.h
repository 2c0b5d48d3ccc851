// Maps registry HTTP answers to base::Error, with the registry's own words when it sent any.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::registry {

// The class for a non-2xx status: 404 -> NotFound, 401/403 -> PermissionDenied,
// 429/5xx -> Unavailable, 400/405/416 -> InvalidArgument, 409 -> Conflict, else Internal.
base::ErrorCode CodeForStatus(int status);

// The registry's errors[] rendered the way Docker prints them ("manifest unknown: manifest
// unknown", several joined by "; "), or "" when the body holds none (HTML, junk, empty).
std::string RegistryErrorText(std::string_view body);

// An error for a non-2xx answer: `what` (e.g. "manifest for x:y not found"), then the
// registry's text or, lacking one, the status ("HTTP 502").
base::Error ErrorFromResponse(int status, std::string_view body, std::string_view what);

// Whether repeating the same request later may succeed: 408, 429 and 5xx except 501.
bool IsRetryableStatus(int status);

}  // namespace berth::registry
