// The control protocol (agent/control/PROTOCOL.md): one JSON request per line,
//   {"cmd": "ports.add", "args": {"port": 8443}}
// answered by one JSON response line,
//   {"ok": true, "result": {...}}   or   {"ok": false, "error": "...", "code": "invalid_argument"}
// Shared by the server (agent) and the client (CLI). No I/O here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::control {

inline constexpr const char* kDefaultSocketPath = "/run/wirebump/control.sock";
// A request line longer than this is refused ("too_large") and the connection closed.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// The client refuses responses beyond this (a sessions list of 10,000 entries is a few MB).
inline constexpr std::size_t kMaxResponseBytes = 64u << 20;

// Error codes in responses: stable strings scripts may test.
namespace code {
inline constexpr const char* kBadRequest = "bad_request";            // not JSON / wrong shape
inline constexpr const char* kTooLarge = "too_large";                // request over the limit
inline constexpr const char* kUnknownCommand = "unknown_command";    // no handler by that name
inline constexpr const char* kForbidden = "forbidden";               // peer is not root
inline constexpr const char* kBusy = "busy";                         // too many clients at once
inline constexpr const char* kInvalidArgument = "invalid_argument";  // handler refused args
inline constexpr const char* kNotFound = "not_found";                // e.g. policy del of no rule
inline constexpr const char* kUnsupported = "unsupported";           // feature not available
inline constexpr const char* kFailed = "failed";                     // the operation failed
}  // namespace code

struct Request {
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

struct Response {
  bool ok = false;
  nlohmann::json result;  // when ok
  std::string error;      // when !ok: a sentence for the operator
  std::string code;       // when !ok: one of code::*

  static Response success(nlohmann::json result);
  static Response failure(std::string code, std::string error);
};

// Serialised with the terminating '\n'. Never throws (invalid UTF-8 is replaced).
std::string encode(const Request& request);
std::string encode(const Response& response);

// One line without its '\n'. Errors are std::errc::bad_message with the reason in context.
Result<Request> parse_request(std::string_view line);
Result<Response> parse_response(std::string_view line);

// Handler errors -> response codes: invalid_argument -> "invalid_argument",
// no_such_file_or_directory -> "not_found", not_supported / function_not_supported /
// operation_not_supported -> "unsupported", anything else -> "failed".
std::string_view code_for(const std::error_code& error);

// Helpers for handlers: typed arguments with messages that name the argument. Never throw.
Result<std::string> arg_string(const nlohmann::json& args, std::string_view name);
Result<bool> arg_bool(const nlohmann::json& args, std::string_view name);
Result<std::int64_t> arg_int(const nlohmann::json& args, std::string_view name, std::int64_t min,
                             std::int64_t max);
bool has_arg(const nlohmann::json& args, std::string_view name);

// Errors a handler returns to get a specific code.
Error invalid_argument(std::string message);
Error not_found(std::string message);
Error unsupported(std::string message);

}  // namespace wb::control
