// Status and Result<T>: how every cairn module reports an expected failure.
//
// A Status is either OK or carries a code and a message a user can act on
// ("job.toml: key 'steps' must be a positive integer"). Programmer errors are
// not Statuses: they are CAIRN_ASSERTs (see assert.h) and abort.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "cairn/assert.h"

namespace cairn {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // The caller's input is malformed or inconsistent.
  kNotFound,          // A named thing does not exist.
  kAlreadyExists,     // A thing that must be unique is already there.
  kPermissionDenied,  // A signature, key or file mode forbids it.
  kFailedPrecondition,  // Well-formed, but the current state forbids it.
  kCorruption,        // Stored or received bytes fail their checks.
  kIoError,           // The disk or the OS failed.
  kUnavailable,       // A peer or service could not be reached; retry may help.
  kResourceExhausted, // A limit was hit.
  kInternal,          // A bug surfaced as a value (should not happen).
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message, so that
  // errors read from the outside in ("ledger: block 12: tx 3: nonce ...").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    CAIRN_ASSERT(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    CAIRN_ASSERT(ok());
    return *value_;
  }
  const T& value() const& {
    CAIRN_ASSERT(ok());
    return *value_;
  }
  T&& value() && {
    CAIRN_ASSERT(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cairn

#define CAIRN_CONCAT_INNER(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define CAIRN_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::cairn::Status cairn_status_ = (expr);          \
    if (!cairn_status_.ok()) return cairn_status_;   \
  } while (0)

// `CAIRN_ASSIGN_OR_RETURN(auto x, MakeX());` unwraps a Result or returns its Status.
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL(CAIRN_CONCAT(cairn_result_, __LINE__), lhs, expr)
#define CAIRN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
