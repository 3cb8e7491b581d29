// Building STUN / TURN / MS-TURN messages and MS-TURN TCP frames, for the MS-TURN test peer, the
// tests and the fuzzers' seed corpora. The inspectors themselves only decode.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "inspectors/turn/stun_message.h"

namespace wb::turn {

class MessageBuilder {
 public:
  // RFC 5389 headers put the cookie in bytes 4..7 (transaction = cookie + 12-byte id); MS-TURN
  // ones carry the 16 bytes as given and start with the MAGIC-COOKIE attribute.
  MessageBuilder(std::uint16_t type, const std::array<std::uint8_t, 16>& transaction,
                 Dialect dialect);

  MessageBuilder& add(std::uint16_t type, std::span<const std::uint8_t> value);
  MessageBuilder& add_text(std::uint16_t type, std::string_view text);
  MessageBuilder& add_u32(std::uint16_t type, std::uint32_t value);
  MessageBuilder& add_address(std::uint16_t type, const Endpoint& endpoint, bool xored);
  MessageBuilder& add_error(int code, std::string_view reason);
  std::vector<std::uint8_t> finish() const;

 private:
  std::array<std::uint8_t, 16> transaction_;
  Dialect dialect_;
  std::vector<std::uint8_t> bytes_;
};

// MS-TURN TCP framing: type (0x02 control, 0x03 data) | 0 | length.
std::vector<std::uint8_t> ms_frame(std::uint8_t type, std::span<const std::uint8_t> payload);
// RFC 5766 ChannelData, padded to 4 bytes as on stream transports.
std::vector<std::uint8_t> channel_data(std::uint16_t channel,
                                       std::span<const std::uint8_t> payload);
// An IPv4 endpoint from dotted text ("192.0.2.1"); family 0 when the text is not IPv4.
Endpoint ipv4_endpoint(std::string_view address, std::uint16_t port);
// An IPv4 or IPv6 endpoint from text ("192.0.2.1", "2001:db8::1"); family 0 when neither.
Endpoint ip_endpoint(std::string_view address, std::uint16_t port);

}  // namespace wb::turn
