// libFuzzer: parse_traffic_secret_line on arbitrary text. A parsed line must have had one of the
// two labels and a secret of a hash length whose hex is exactly the line's tail.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/tls13/suite.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(bytes), size);  // text, not a struct
  const auto parsed = wb::tls13::parse_traffic_secret_line(line);
  if (!parsed) return 0;
  const std::size_t n = parsed->secret.size();
  if (n != 32 && n != 48) std::abort();
  if (line.size() != 24 + 64 + 1 + 2 * n) std::abort();
  const bool client = line.substr(0, 24) == "CLIENT_TRAFFIC_SECRET_0 ";
  if (client != (parsed->label == wb::tls13::TrafficSecretLine::Label::kClientTraffic0))
    std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string_view tail = line.substr(line.size() - 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = parsed->secret.bytes()[i];
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'F') ? static_cast<char>(c + 32) : c;
    };
    if (lower(tail[2 * i]) != kHex[b >> 4] || lower(tail[2 * i + 1]) != kHex[b & 15]) std::abort();
  }
  return 0;
}
