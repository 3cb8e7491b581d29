// libFuzzer: any bytes as wirebump.toml. parse_config must return a Config or an error naming a
// position, never crash, hang or throw (toml++ exceptions are caught at the boundary).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/config/cidr.h"
#include "agent/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = wb::config::parse_config(text, "fuzz.toml");
  if (!config.ok() && config.error().context.rfind("fuzz.toml", 0) != 0) __builtin_trap();
  // The CLI's validators see the same bytes as command-line arguments.
  (void)wb::config::parse_cidr(text);
  (void)wb::config::parse_dst(text);
  (void)wb::config::parse_port(text);
  return 0;
}
