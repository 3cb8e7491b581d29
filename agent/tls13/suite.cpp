#include "agent/tls13/suite.h"

#include <openssl/crypto.h>

namespace wb::tls13 {

std::optional<Suite> suite_from_id(std::uint16_t protocol_id) {
  switch (protocol_id) {
    case 0x1301:
      return Suite::kAes128GcmSha256;
    case 0x1302:
      return Suite::kAes256GcmSha384;
    case 0x1303:
      return Suite::kChacha20Poly1305Sha256;
    default:
      return std::nullopt;
  }
}

SuiteParams params(Suite suite) {
  switch (suite) {
    case Suite::kAes256GcmSha384:
      return {32, 48, "SHA384", "AES-256-GCM"};
    case Suite::kChacha20Poly1305Sha256:
      return {32, 32, "SHA256", "ChaCha20-Poly1305"};
    case Suite::kAes128GcmSha256:
      break;
  }
  return {16, 32, "SHA256", "AES-128-GCM"};
}

std::optional<Secret> Secret::from(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != 32 && bytes.size() != 48) return std::nullopt;
  Secret s;
  for (std::size_t i = 0; i < bytes.size(); ++i) s.b_[i] = bytes[i];
  s.n_ = static_cast<std::uint8_t>(bytes.size());
  return s;
}

Secret::Secret(Secret&& other) noexcept : b_(other.b_), n_(other.n_) {
  other.wipe();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    b_ = other.b_;
    n_ = other.n_;
    other.wipe();
  }
  return *this;
}

Secret::~Secret() {
  wipe();
}

void Secret::wipe() {
  OPENSSL_cleanse(b_.data(), b_.size());
  n_ = 0;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_hex(std::string_view s) {
  for (char c : s) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

}  // namespace

std::optional<TrafficSecretLine> parse_traffic_secret_line(std::string_view line) {
  constexpr std::string_view kClient = "CLIENT_TRAFFIC_SECRET_0 ";
  constexpr std::string_view kServer = "SERVER_TRAFFIC_SECRET_0 ";
  constexpr std::size_t kRandomHex = 64;
  TrafficSecretLine out{};
  if (line.substr(0, kClient.size()) == kClient) {
    out.label = TrafficSecretLine::Label::kClientTraffic0;
  } else if (line.substr(0, kServer.size()) == kServer) {
    out.label = TrafficSecretLine::Label::kServerTraffic0;
  } else {
    return std::nullopt;
  }
  line.remove_prefix(kClient.size());  // both labels have the same length
  if (line.size() < kRandomHex + 1 || !all_hex(line.substr(0, kRandomHex)) ||
      line[kRandomHex] != ' ') {
    return std::nullopt;
  }
  line.remove_prefix(kRandomHex + 1);
  if ((line.size() != 64 && line.size() != 96) || !all_hex(line)) return std::nullopt;
  std::array<std::uint8_t, kMaxSecretLen> raw{};
  const std::size_t n = line.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    raw[i] = static_cast<std::uint8_t>(hex_value(line[2 * i]) * 16 + hex_value(line[2 * i + 1]));
  }
  auto secret = Secret::from(std::span<const std::uint8_t>(raw.data(), n));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!secret) return std::nullopt;
  out.secret = std::move(*secret);
  return out;
}

}  // namespace wb::tls13
