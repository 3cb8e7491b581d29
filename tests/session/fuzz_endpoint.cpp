// libFuzzer target for Endpoint::parse (addresses in configuration and CLI input): any bytes
// give an error or an endpoint that prints back to text that parses to the same endpoint.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/session/endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = wb::session::Endpoint::parse(text);
  if (!parsed.ok()) return 0;
  auto again = wb::session::Endpoint::parse(parsed->to_string());
  if (!again.ok() || !(*again == *parsed)) std::abort();
  return 0;
}
