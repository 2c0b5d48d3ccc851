// Error construction and errno classification.
#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace berth::base {

Error Error::FromErrno(int err, std::string what) {
  Error e(ErrorCode::kErrno, std::move(what));
  e.errno_ = err;
  e.message_ += ": ";
  e.message_ += std::strerror(err);
  return e;
}

ErrorCode Error::code() const {
  if (code_ != ErrorCode::kErrno) return code_;
  switch (errno_) {
    case ENOENT:
    case ESRCH:
      return ErrorCode::kNotFound;
    case EEXIST:
      return ErrorCode::kAlreadyExists;
    case EPERM:
    case EACCES:
      return ErrorCode::kPermissionDenied;
    case EINVAL:
      return ErrorCode::kInvalidArgument;
    case EBUSY:
      return ErrorCode::kConflict;
    default:
      return ErrorCode::kErrno;
  }
}

Error& Error::Context(std::string_view what) & {
  message_.insert(0, std::string(what) + ": ");
  return *this;
}

Error&& Error::Context(std::string_view what) && {
  message_.insert(0, std::string(what) + ": ");
  return std::move(*this);
}

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnknown:
      return "unknown";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermissionDenied:
      return "permission denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kErrno:
      return "system error";
  }
  return "unknown";
}

}  // namespace berth::base
