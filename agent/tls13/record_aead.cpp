#include "agent/tls13/record_aead.h"

#include <openssl/evp.h>

#include <array>

namespace wb::tls13 {
namespace {

static_assert(kIvLen == kAeadNonceLen && kTagLen == kAeadTagLen);

// One explicit fetch per suite and process: EVP_aes_128_gcm() and friends would make OpenSSL 3
// fetch implicitly on every EVP_CipherInit_ex2 that passes a cipher.
const EVP_CIPHER* cipher_for(Suite suite) {
  static const std::array<EVP_CIPHER*, 3> ciphers = {
      EVP_CIPHER_fetch(nullptr, params(Suite::kAes128GcmSha256).cipher, nullptr),
      EVP_CIPHER_fetch(nullptr, params(Suite::kAes256GcmSha384).cipher, nullptr),
      EVP_CIPHER_fetch(nullptr, params(Suite::kChacha20Poly1305Sha256).cipher, nullptr),
  };
  return ciphers[static_cast<std::size_t>(suite)];
}

std::array<std::uint8_t, kIvLen> nonce_for(const TrafficKeys& keys, std::uint64_t seq) {
  std::array<std::uint8_t, kIvLen> nonce = keys.iv;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[kIvLen - 1 - i] ^= static_cast<std::uint8_t>(seq >> (8 * i));
  }
  return nonce;
}

}  // namespace

bool RecordAead::seal(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
                      std::span<const std::uint8_t, kHeaderLen> header,
                      std::span<const std::uint8_t> content, std::uint8_t type,
                      std::span<std::uint8_t> out) {
  const auto nonce = nonce_for(keys, seq);
  return ctx_.seal({cipher_for(suite), keys.key.data(), nonce}, header, content,
                   std::span(&type, 1), out);
}

bool RecordAead::open(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
                      std::span<const std::uint8_t, kHeaderLen> header,
                      std::span<const std::uint8_t> body, std::span<std::uint8_t> out) {
  const auto nonce = nonce_for(keys, seq);
  return ctx_.open({cipher_for(suite), keys.key.data(), nonce}, header, body, out);
}

}  // namespace wb::tls13
