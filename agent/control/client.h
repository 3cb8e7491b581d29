// The CLI side of the control socket: one request, one response, everything bounded by a
// deadline (a wedged agent makes the CLI fail with "timed out", never hang).
#pragma once

#include <chrono>
#include <filesystem>

#include "agent/common/result.h"
#include "agent/control/protocol.h"

namespace wb::control {

struct CallOptions {
  std::chrono::milliseconds timeout{10000};  // connect + send + whole response
  std::size_t max_response_bytes = kMaxResponseBytes;
};

// Connects to `socket_path`, sends `request`, returns the agent's response (ok or not).
// Transport errors keep their errno meaning so callers can tell them apart:
//   no_such_file_or_directory / connection_refused: no agent is running (exit 3 in the CLI)
//   permission_denied: not root
//   timed_out: the agent did not answer in time
//   bad_message: the reply was not a protocol response
Result<Response> call(const std::filesystem::path& socket_path, const Request& request,
                      const CallOptions& options = {});

// True for the errors that mean "nobody serves this socket".
bool is_no_agent(const Error& error);

}  // namespace wb::control
