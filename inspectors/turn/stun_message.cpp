#include "inspectors/turn/stun_message.h"

#include <arpa/inet.h>

#include "inspectors/parse.h"

namespace wb::turn {

using inspect::be16;
using inspect::be32;

const Attribute* Message::find(std::uint16_t wanted) const {
  for (std::size_t i = 0; i < attribute_count; ++i) {
    if (attributes[i].type == wanted) return &attributes[i];
  }
  return nullptr;
}

std::uint16_t Message::method() const {
  return static_cast<std::uint16_t>(((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) |
                                    (type & 0x000f));
}

std::uint8_t Message::message_class() const {
  return static_cast<std::uint8_t>(((type & 0x0100) >> 7) | ((type & 0x0010) >> 4));
}

DecodeStatus decode(Bytes bytes, Dialect dialect, Message& out, std::string_view& error) {
  out.attribute_count = 0;
  out.ms_magic_cookie = false;
  out.dialect = dialect;
  if (bytes.size() < kHeaderSize)
    return error = "STUN message shorter than 20 bytes", DecodeStatus::kError;
  if (bytes[0] & 0xc0)
    return error = "STUN message type has the top bits set", DecodeStatus::kError;
  out.type = be16(bytes, 0);
  out.length = be16(bytes, 2);
  if (kHeaderSize + out.length != bytes.size()) {
    return error = "STUN length does not match the message size", DecodeStatus::kError;
  }
  std::copy(bytes.begin() + 4, bytes.begin() + 20, out.transaction.begin());
  if (dialect == Dialect::kRfc5389) {
    if (be32(bytes, 4) != kStunCookie)
      return error = "STUN magic cookie missing", DecodeStatus::kError;
    if (out.length % 4) return error = "STUN length is not a multiple of 4", DecodeStatus::kError;
  }
  // MS-TURN attributes are not padded; RFC 5389 and RFC 3489 ones are (3489's are all 4n long).
  const std::size_t align = dialect == Dialect::kMsTurn ? 1 : 4;
  std::size_t pos = kHeaderSize;
  while (pos < bytes.size()) {
    if (pos + 4 > bytes.size())
      return error = "STUN attribute header truncated", DecodeStatus::kError;
    std::uint16_t type = be16(bytes, pos);
    std::size_t length = be16(bytes, pos + 2);
    if (pos + 4 + length > bytes.size())
      return error = "STUN attribute value overruns the message", DecodeStatus::kError;
    if (out.attribute_count == kMaxAttributes)
      return error = "too many STUN attributes", DecodeStatus::kError;
    out.attributes[out.attribute_count++] = Attribute{type, bytes.subspan(pos + 4, length)};
    std::size_t padded = (length + align - 1) / align * align;
    if (pos + 4 + padded > bytes.size())
      return error = "STUN attribute padding overruns the message", DecodeStatus::kError;
    pos += 4 + padded;
  }
  if (dialect == Dialect::kMsTurn && out.attribute_count > 0) {
    const Attribute& first = out.attributes[0];
    out.ms_magic_cookie = first.type == attr::kMsMagicCookie && first.value.size() == 4 &&
                          be32(first.value, 0) == kMsMagicCookie;
  }
  return DecodeStatus::kOk;
}

std::string Endpoint::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family == 1) {
    inet_ntop(AF_INET, address.data(), text, sizeof text);
    return std::string(text) + ":" + std::to_string(port);
  }
  if (family == 2) {
    inet_ntop(AF_INET6, address.data(), text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(port);
  }
  return "?";
}

XorKey xor_key(const Message& message) {
  // RFC 5389 15.2: port ^ the cookie's top 16 bits, IPv4 ^ the cookie, IPv6 ^ (cookie || 96-bit
  // transaction id): exactly message bytes 4..19, which `transaction` holds.
  // [MS-TURN] 2.2.2.16 (XOR Mapped Address 0x8020) uses the draft-02 header's 128-bit
  // Transaction ID instead of a cookie: X-Port = port ^ the Transaction ID's most significant 16
  // bits, an IPv4 X-IP Address = address ^ its most significant 32 bits, and an IPv6 one is XORed
  // with the whole 128-bit Transaction ID (libnice OC2007 does the same: the key for port and
  // IPv4 is the id's first word, IPv6 uses message bytes 4..19). That is again bytes 4..19, so
  // both dialects share one key; no cookie is substituted (Lync clients often start their ids
  // with 0x2112A442, which hid the difference for them but not for other ids).
  return message.transaction;
}

std::optional<Endpoint> decode_address(Bytes value, const XorKey* key) {
  if (value.size() < 4) return std::nullopt;
  Endpoint endpoint;
  endpoint.family = value[1];
  std::size_t size = endpoint.family == 1 ? 4 : endpoint.family == 2 ? 16 : 0;
  if (size == 0 || value.size() != 4 + size) return std::nullopt;
  endpoint.port = be16(value, 2);
  if (key) endpoint.port ^= static_cast<std::uint16_t>(((*key)[0] << 8) | (*key)[1]);
  for (std::size_t i = 0; i < size; ++i) {
    endpoint.address[i] = static_cast<std::uint8_t>(value[4 + i] ^ (key ? (*key)[i] : 0));
  }
  return endpoint;
}

std::size_t encode_address(const Endpoint& endpoint, const XorKey* key,
                           std::span<std::uint8_t> out) {
  std::size_t size = endpoint.family == 1 ? 4 : 16;
  if (out.size() < 4 + size) return 0;
  std::uint16_t port = endpoint.port;
  if (key) port ^= static_cast<std::uint16_t>(((*key)[0] << 8) | (*key)[1]);
  out[0] = 0;
  out[1] = endpoint.family;
  out[2] = static_cast<std::uint8_t>(port >> 8);
  out[3] = static_cast<std::uint8_t>(port);
  for (std::size_t i = 0; i < size; ++i) {
    out[4 + i] = static_cast<std::uint8_t>(endpoint.address[i] ^ (key ? (*key)[i] : 0));
  }
  return 4 + size;
}

std::optional<std::uint32_t> u32_value(const Attribute* attribute) {
  if (!attribute || attribute->value.size() < 4) return std::nullopt;
  return be32(attribute->value, 0);
}

std::optional<int> error_code(const Attribute* attribute) {
  if (!attribute || attribute->value.size() < 4) return std::nullopt;
  return (attribute->value[2] & 0x07) * 100 + attribute->value[3];
}

std::string_view message_name(std::uint16_t type, Dialect dialect) {
  if (dialect == Dialect::kMsTurn) {
    switch (type) {
      case 0x0001:
        return "Binding";
      case 0x0101:
        return "Binding response";
      case 0x0003:
        return "Allocate";
      case 0x0103:
        return "Allocate response";
      case 0x0113:
        return "Allocate error";
      case 0x0004:
        return "Send request";
      case 0x0115:
        return "Data indication";
      case 0x0006:
        return "Set Active Destination";
      case 0x0106:
        return "Set Active Destination response";
      case 0x0116:
        return "Set Active Destination error";
      default:
        return "unknown";
    }
  }
  switch (type) {
    case 0x0001:
      return "Binding";
    case 0x0101:
      return "Binding response";
    case 0x0111:
      return "Binding error";
    case 0x0003:
      return "Allocate";
    case 0x0103:
      return "Allocate response";
    case 0x0113:
      return "Allocate error";
    case 0x0004:
      return "Refresh";
    case 0x0104:
      return "Refresh response";
    case 0x0114:
      return "Refresh error";
    case 0x0016:
      return "Send indication";
    case 0x0017:
      return "Data indication";
    case 0x0008:
      return "CreatePermission";
    case 0x0108:
      return "CreatePermission response";
    case 0x0118:
      return "CreatePermission error";
    case 0x0009:
      return "ChannelBind";
    case 0x0109:
      return "ChannelBind response";
    case 0x0119:
      return "ChannelBind error";
    default:
      return "unknown";
  }
}

}  // namespace wb::turn
