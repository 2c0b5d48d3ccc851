// Error: the value every fallible berth call returns on failure. It carries a code that callers
// branch on (an errno or one of our classes), a message, and context added on the way up.
#pragma once

#include <string>
#include <string_view>

namespace berth::base {

// Our error classes. Errno-based errors map onto these through ClassOf(); the daemon maps
// classes to HTTP statuses in one place.
enum class ErrorCode {
  kUnknown = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kConflict,
  kPermissionDenied,
  kUnavailable,
  kInternal,
  kErrno,  // see Error::sys_errno()
};

class Error {
 public:
  Error() = default;
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // An error from a failed system call: "mount \"proc\" on \"/x\": Operation not permitted".
  static Error FromErrno(int err, std::string what);
  static Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
  static Error InvalidArgument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  static Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Error PermissionDenied(std::string m) {
    return {ErrorCode::kPermissionDenied, std::move(m)};
  }
  static Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  // The class: for errno errors ENOENT -> kNotFound, EEXIST -> kAlreadyExists, EPERM/EACCES ->
  // kPermissionDenied, EINVAL -> kInvalidArgument, EBUSY -> kConflict, else kErrno.
  ErrorCode code() const;
  // The errno for system-call errors, 0 otherwise.
  int sys_errno() const { return errno_; }
  // The full text, outermost context first: "create container: mount ...: EPERM text".
  const std::string& message() const { return message_; }

  // Prepends context ("what we were doing") to the message; returns *this for chaining.
  Error& Context(std::string_view what) &;
  Error&& Context(std::string_view what) &&;

 private:
  ErrorCode code_ = ErrorCode::kUnknown;
  int errno_ = 0;
  std::string message_;
};

const char* ErrorCodeName(ErrorCode code);

}  // namespace berth::base
