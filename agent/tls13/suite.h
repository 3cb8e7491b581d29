// TLS 1.3 cipher suites, traffic secrets and the key-log lines they arrive in. A compacted
// connection keeps only these (plus sequence numbers) once its OpenSSL SSL object is freed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wb::tls13 {

enum class Suite : std::uint8_t { kAes128GcmSha256, kAes256GcmSha384, kChacha20Poly1305Sha256 };

// 0x1301 TLS_AES_128_GCM_SHA256, 0x1302 TLS_AES_256_GCM_SHA384,
// 0x1303 TLS_CHACHA20_POLY1305_SHA256 (RFC 8446 B.4); anything else: nullopt.
std::optional<Suite> suite_from_id(std::uint16_t protocol_id);

// What a suite needs from the key schedule and the AEAD.
struct SuiteParams {
  std::size_t key_len;   // 16 or 32
  std::size_t hash_len;  // 32 (SHA-256) or 48 (SHA-384): the length of every traffic secret
  const char* digest;    // OpenSSL digest name for HKDF
  const char* cipher;    // OpenSSL cipher name for the AEAD
};
SuiteParams params(Suite suite);

inline constexpr std::size_t kIvLen = 12;   // every TLS 1.3 AEAD here has a 96-bit nonce
inline constexpr std::size_t kTagLen = 16;  // and a 128-bit tag
inline constexpr std::size_t kMaxKeyLen = 32;
inline constexpr std::size_t kMaxSecretLen = 48;

// A traffic secret (32 or 48 bytes). Zeroised on destruction and on move-from, so copies of
// key material do not linger in freed heap or stack.
class Secret {
 public:
  Secret() = default;
  // nullopt unless 32 or 48 bytes.
  static std::optional<Secret> from(std::span<const std::uint8_t> bytes);
  Secret(const Secret& other) = default;
  Secret& operator=(const Secret& other) = default;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  std::span<const std::uint8_t> bytes() const { return {b_.data(), n_}; }
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  void wipe();

 private:
  std::array<std::uint8_t, kMaxSecretLen> b_{};
  std::uint8_t n_ = 0;
};

// One NSS key-log line as OpenSSL's keylog callback hands it (no newline):
// "CLIENT_TRAFFIC_SECRET_0 <64 hex client_random> <64 or 96 hex secret>".
struct TrafficSecretLine {
  enum class Label : std::uint8_t { kClientTraffic0, kServerTraffic0 };
  Label label;
  Secret secret;
};
// Any other label, or a malformed line: nullopt. Reads only inside `line`, allocates nothing.
std::optional<TrafficSecretLine> parse_traffic_secret_line(std::string_view line);

}  // namespace wb::tls13
