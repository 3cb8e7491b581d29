// STUN / TURN message decoding from one complete message: RFC 5389/8489 (magic cookie 0x2112A442,
// attributes padded to 4), classic RFC 3489 (no cookie) and Microsoft MS-TURN (STUN draft-02
// header, MAGIC-COOKIE attribute 0x000F = 0x72C64BC6 first, no attribute padding). Attribute
// values are views into the caller's bytes; nothing is allocated.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wb::turn {

using Bytes = std::span<const std::uint8_t>;

inline constexpr std::uint32_t kStunCookie = 0x2112A442;
inline constexpr std::uint32_t kMsMagicCookie = 0x72C64BC6;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::size_t kMaxAttributes = 48;

enum class Dialect : std::uint8_t { kRfc5389, kClassic, kMsTurn };

// Attribute types used by the inspectors (RFC 5389/8656 and [MS-TURN] 2.2.2).
namespace attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;  // MS-TURN: the relayed address
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kChannelNumber = 0x000C;
inline constexpr std::uint16_t kLifetime = 0x000D;
inline constexpr std::uint16_t kMsMagicCookie = 0x000F;
inline constexpr std::uint16_t kMsDestinationAddress = 0x0011;
inline constexpr std::uint16_t kXorPeerAddress = 0x0012;  // MS-TURN: Remote-Address (plain)
inline constexpr std::uint16_t kData = 0x0013;
inline constexpr std::uint16_t kXorRelayedAddress = 0x0016;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kMsVersion = 0x8008;
inline constexpr std::uint16_t kMsXorMappedAddress = 0x8020;
inline constexpr std::uint16_t kMsSequenceNumber = 0x8050;
inline constexpr std::uint16_t kMsAlternateMappedAddress = 0x8090;
}  // namespace attr

struct Attribute {
  std::uint16_t type = 0;
  Bytes value;
};

struct Message {
  std::uint16_t type = 0;
  std::uint16_t length = 0;
  std::array<std::uint8_t, 16> transaction{};  // bytes 4..19 (RFC 5389: cookie + 12-byte id)
  Dialect dialect = Dialect::kRfc5389;
  bool ms_magic_cookie = false;  // MS-TURN MAGIC-COOKIE present as the first attribute
  std::array<Attribute, kMaxAttributes> attributes{};
  std::size_t attribute_count = 0;

  const Attribute* find(std::uint16_t type) const;
  // RFC 5389 method (12 bits) and class (0 request, 1 indication, 2 success, 3 error).
  std::uint16_t method() const;
  std::uint8_t message_class() const;
};

enum class DecodeStatus : std::uint8_t { kOk, kError };

// `bytes` must be exactly one message (20 + length bytes). `error` gets a static description.
DecodeStatus decode(Bytes bytes, Dialect dialect, Message& out, std::string_view& error);

// Transport address from a (XOR-)MAPPED-ADDRESS-style attribute value.
struct Endpoint {
  std::uint8_t family = 0;  // 1 IPv4, 2 IPv6
  std::uint16_t port = 0;
  std::array<std::uint8_t, 16> address{};
  std::string to_string() const;
};
// The XOR key of XOR-*-ADDRESS attributes: message bytes 4..19. RFC 5389 15.2: the cookie
// 0x2112A442 followed by the 96-bit transaction id. [MS-TURN] 2.2.2.16: the 128-bit Transaction
// ID of the draft-02 header (port ^ its first 16 bits, IPv4 ^ its first 32, IPv6 ^ all 128).
using XorKey = std::array<std::uint8_t, 16>;
XorKey xor_key(const Message& message);
// `key` null: a plain address; otherwise XORed with the key (port with its first two bytes).
std::optional<Endpoint> decode_address(Bytes value, const XorKey* key);
// Encodes an address attribute value (used by the MS-TURN test peer and tests).
std::size_t encode_address(const Endpoint& endpoint, const XorKey* key,
                           std::span<std::uint8_t> out);

std::optional<std::uint32_t> u32_value(const Attribute* attribute);
// ERROR-CODE as class * 100 + number.
std::optional<int> error_code(const Attribute* attribute);

// Human name for a message type in the given dialect ("Allocate", "Data indication", ...).
std::string_view message_name(std::uint16_t type, Dialect dialect);

}  // namespace wb::turn
