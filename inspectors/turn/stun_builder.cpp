#include "inspectors/turn/stun_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace wb::turn {

MessageBuilder::MessageBuilder(std::uint16_t type, const std::array<std::uint8_t, 16>& transaction,
                               Dialect dialect)
    : transaction_(transaction), dialect_(dialect) {
  if (dialect_ == Dialect::kRfc5389) {
    transaction_[0] = 0x21, transaction_[1] = 0x12, transaction_[2] = 0xA4, transaction_[3] = 0x42;
  }
  // (push_back rather than an initializer list: GCC 12 misreports the later insert as overflow)
  bytes_.reserve(128);
  for (std::uint8_t b : {static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type),
                         std::uint8_t{0}, std::uint8_t{0}}) {
    bytes_.push_back(b);
  }
  bytes_.insert(bytes_.end(), transaction_.begin(), transaction_.end());
  if (dialect_ == Dialect::kMsTurn) add_u32(attr::kMsMagicCookie, kMsMagicCookie);
}

MessageBuilder& MessageBuilder::add(std::uint16_t type, std::span<const std::uint8_t> value) {
  bytes_.push_back(static_cast<std::uint8_t>(type >> 8));
  bytes_.push_back(static_cast<std::uint8_t>(type));
  bytes_.push_back(static_cast<std::uint8_t>(value.size() >> 8));
  bytes_.push_back(static_cast<std::uint8_t>(value.size()));
  bytes_.insert(bytes_.end(), value.begin(), value.end());
  if (dialect_ != Dialect::kMsTurn) {
    while (bytes_.size() % 4) bytes_.push_back(0);
  }
  return *this;
}

MessageBuilder& MessageBuilder::add_text(std::uint16_t type, std::string_view text) {
  return add(type, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

MessageBuilder& MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) {
  std::uint8_t raw[4] = {static_cast<std::uint8_t>(value >> 24),
                         static_cast<std::uint8_t>(value >> 16),
                         static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
  return add(type, raw);
}

MessageBuilder& MessageBuilder::add_address(std::uint16_t type, const Endpoint& endpoint,
                                            bool xored) {
  Message header;
  header.transaction = transaction_;
  header.dialect = dialect_;
  XorKey key = xor_key(header);
  std::array<std::uint8_t, 20> value{};
  std::size_t size = encode_address(endpoint, xored ? &key : nullptr, value);
  return add(type, std::span<const std::uint8_t>(value.data(), size));
}

MessageBuilder& MessageBuilder::add_error(int code, std::string_view reason) {
  std::vector<std::uint8_t> value(4 + reason.size());
  value[2] = static_cast<std::uint8_t>(code / 100);
  value[3] = static_cast<std::uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), value.begin() + 4);
  return add(attr::kErrorCode, value);
}

std::vector<std::uint8_t> MessageBuilder::finish() const {
  std::vector<std::uint8_t> out = bytes_;
  std::size_t length = out.size() - kHeaderSize;
  out[2] = static_cast<std::uint8_t>(length >> 8);
  out[3] = static_cast<std::uint8_t>(length);
  return out;
}

std::vector<std::uint8_t> ms_frame(std::uint8_t type, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(4 + payload.size());
  out[0] = type;
  out[2] = static_cast<std::uint8_t>(payload.size() >> 8);
  out[3] = static_cast<std::uint8_t>(payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + 4);
  return out;
}

std::vector<std::uint8_t> channel_data(std::uint16_t channel,
                                       std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out = {
      static_cast<std::uint8_t>(channel >> 8), static_cast<std::uint8_t>(channel),
      static_cast<std::uint8_t>(payload.size() >> 8), static_cast<std::uint8_t>(payload.size())};
  out.insert(out.end(), payload.begin(), payload.end());
  while (out.size() % 4) out.push_back(0);
  return out;
}

Endpoint ipv4_endpoint(std::string_view address, std::uint16_t port) {
  Endpoint endpoint;
  std::string text(address);
  if (inet_pton(AF_INET, text.c_str(), endpoint.address.data()) == 1) {
    endpoint.family = 1;
    endpoint.port = port;
  }
  return endpoint;
}

Endpoint ip_endpoint(std::string_view address, std::uint16_t port) {
  Endpoint endpoint = ipv4_endpoint(address, port);
  std::string text(address);
  if (endpoint.family == 0 && inet_pton(AF_INET6, text.c_str(), endpoint.address.data()) == 1) {
    endpoint.family = 2;
    endpoint.port = port;
  }
  return endpoint;
}

}  // namespace wb::turn
