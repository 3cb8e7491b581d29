// libFuzzer: any bytes as a control request line (what a root client may send) and as a response
// line (what the CLI reads). Parsing never throws or crashes; accepted requests re-encode as one
// line that parses to the same request.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/control/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (auto request = wb::control::parse_request(line); request.ok()) {
    auto encoded = wb::control::encode(*request);
    if (encoded.empty() || encoded.back() != '\n' || encoded.find('\n') != encoded.size() - 1) {
      __builtin_trap();
    }
    auto again =
        wb::control::parse_request(std::string_view(encoded).substr(0, encoded.size() - 1));
    if (!again.ok() || again->cmd != request->cmd) __builtin_trap();
    (void)wb::control::arg_int(request->args, "port", 1, 65535);
    (void)wb::control::arg_string(request->args, "cidr");
    (void)wb::control::arg_bool(request->args, "enabled");
  }
  (void)wb::control::parse_response(line);
  return 0;
}
