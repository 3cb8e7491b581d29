// TLS 1.2 AEAD cipher suites (RFC 5288, 5289, 7905) and the key block a compacted connection
// derives from the master secret (RFC 5246 6.3): the only key material wirebump keeps once the
// OpenSSL SSL object of an idle TLS 1.2 connection is freed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "agent/common/result.h"

namespace wb::tls12 {

enum class Cipher : std::uint8_t { kAes128Gcm, kAes256Gcm, kChacha20Poly1305 };

struct SuiteParams {
  Cipher cipher;
  std::size_t key_len;             // 16 or 32
  std::size_t fixed_iv_len;        // 4 (GCM salt, RFC 5288 3) or 12 (ChaCha20, RFC 7905 2)
  std::size_t explicit_nonce_len;  // 8 for GCM (carried in every record), 0 for ChaCha20
  const char* prf_digest;          // "SHA256" or "SHA384" (RFC 5289 3.2)
  const char* cipher_name;         // OpenSSL cipher name
};

// AES-GCM with ECDHE_ECDSA 0xC02B/0xC02C, ECDHE_RSA 0xC02F/0xC030, DHE_RSA 0x009E/0x009F,
// RSA 0x009C/0x009D; ChaCha20-Poly1305 0xCCA8 (ECDHE_RSA), 0xCCA9 (ECDHE_ECDSA), 0xCCAA (DHE_RSA).
// The id is the IANA value as SSL_CIPHER_get_protocol_id() gives it; anything else: nullopt.
std::optional<SuiteParams> suite_params(std::uint16_t cipher_suite);
bool supported_suite(std::uint16_t cipher_suite);

inline constexpr std::size_t kTagLen = 16;
inline constexpr std::size_t kNonceLen = 12;
inline constexpr std::size_t kMaxKeyLen = 32;
inline constexpr std::size_t kMasterSecretLen = 48;
inline constexpr std::size_t kRandomLen = 32;

// One direction's write key and IV (only the first key_len / fixed_iv_len bytes are used).
// Cleansed on destruction.
struct DirectionKeys {
  std::array<std::uint8_t, kMaxKeyLen> key{};
  std::array<std::uint8_t, kNonceLen> iv{};
  DirectionKeys() = default;
  DirectionKeys(const DirectionKeys&) = delete;
  DirectionKeys& operator=(const DirectionKeys&) = delete;
  ~DirectionKeys();
  void wipe();
};

// PRF(secret, label, seed) with the given digest (RFC 5246 5), OpenSSL's EVP_KDF "TLS1-PRF".
Status prf(const char* digest, std::span<const std::uint8_t> secret, std::string_view label,
           std::span<const std::uint8_t> seed, std::span<std::uint8_t> out);

// key_block = PRF(master_secret, "key expansion", server_random + client_random), split into
// client_write_key, server_write_key, client_write_IV, server_write_IV (no MAC keys for AEAD).
Status derive_key_block(const SuiteParams& suite,
                        std::span<const std::uint8_t, kMasterSecretLen> master_secret,
                        std::span<const std::uint8_t, kRandomLen> client_random,
                        std::span<const std::uint8_t, kRandomLen> server_random,
                        DirectionKeys& client_write, DirectionKeys& server_write);

}  // namespace wb::tls12
