// Errors as values: Result<T> holds either a T or an Error (std::error_code plus context).
// The data path never throws; functions that can fail return Result and callers propagate
// with WB_TRY / WB_TRY_ASSIGN.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace wb {

struct Error {
  std::error_code code;
  std::string context;  // what was being done: "attach tc ingress on eth1"

  // "context: strerror-like message"
  std::string message() const {
    if (context.empty()) return code.message();
    return context + ": " + code.message();
  }
  // Prefixes more context, outermost first: "load config: parse line 3: invalid argument".
  Error wrap(std::string outer) const& {
    return Error{code, context.empty() ? std::move(outer) : std::move(outer) + ": " + context};
  }
};

inline Error make_error(std::errc code, std::string context) {
  return Error{std::make_error_code(code), std::move(context)};
}
inline Error errno_error(int err, std::string context) {
  return Error{std::error_code(err, std::system_category()), std::move(context)};
}
// From the current errno (call right after the failing syscall).
inline Error errno_error(std::string context) { return errno_error(errno, std::move(context)); }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(value) {}            // NOLINT(google-explicit-constructor)
  Result(T&& value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}    // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace wb

// Propagates an error from an expression returning Result<...>.
#define WB_TRY(expr)                                        \
  do {                                                      \
    auto wb_try_result_ = (expr);                           \
    if (!wb_try_result_.ok()) return wb_try_result_.error(); \
  } while (0)

#define WB_CONCAT_INNER(a, b) a##b
#define WB_CONCAT(a, b) WB_CONCAT_INNER(a, b)
// WB_TRY_ASSIGN(auto fd, open_socket()); declares fd from the value or returns the error.
#define WB_TRY_ASSIGN(decl, expr) WB_TRY_ASSIGN_IMPL(WB_CONCAT(wb_try_, __LINE__), decl, expr)
#define WB_TRY_ASSIGN_IMPL(tmp, decl, expr)       \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.error();              \
  decl = std::move(tmp).value()
