// Errors raised by the pure C++ core. The Postgres layer maps each kind to a SQLSTATE
// (see src/pg/guard.cpp); the core itself never sees Postgres.
#pragma once

#include <stdexcept>
#include <string>

namespace ltv {

enum class ErrorKind {
  kInvalidParameter,  // a bad option or argument value (22023)
  kInvalidInput,      // input data that cannot be read as promised (22P02 / 22P04)
  kDataCorrupted,     // a model or state blob failed validation (XX001)
  kLimitExceeded,     // a configured size or row limit was passed (54000)
  kNotSupported,      // a valid request we do not implement (0A000)
  kUndefinedColumn,   // a required column is missing from a header (42703)
  kInternal,          // a bug: should never happen (XX000)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string detail = {}, std::string hint = {})
      : std::runtime_error(message),
        kind_(kind),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }

 private:
  ErrorKind kind_;
  std::string detail_;
  std::string hint_;
};

// Thrown by a CancelCheck when the host asked the running computation to stop.
// The host layer turns it back into its own cancellation error.
class Interrupted : public std::exception {
 public:
  const char* what() const noexcept override { return "interrupted"; }
};

}  // namespace ltv
