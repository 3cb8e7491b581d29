#include "agent/tls12/record_aead.h"

#include <openssl/evp.h>

#include <array>

namespace wb::tls12 {
namespace {

static_assert(kNonceLen == tls13::kAeadNonceLen && kTagLen == tls13::kAeadTagLen);

// One explicit fetch per cipher and process (an implicit fetch would happen on every init).
const EVP_CIPHER* cipher_for(const SuiteParams& suite) {
  static const std::array<EVP_CIPHER*, 3> ciphers = {
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr),
  };
  return ciphers[static_cast<std::size_t>(suite.cipher)];
}

void put_u64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

std::array<std::uint8_t, 13> additional_data(std::uint64_t seq, std::uint8_t type,
                                             std::size_t plaintext_len) {
  std::array<std::uint8_t, 13> ad{};
  put_u64(ad.data(), seq);
  ad[8] = type;
  ad[9] = 0x03;
  ad[10] = 0x03;
  ad[11] = static_cast<std::uint8_t>(plaintext_len >> 8);
  ad[12] = static_cast<std::uint8_t>(plaintext_len);
  return ad;
}

// GCM: salt || explicit; ChaCha20: IV XOR seq (explicit is unused).
std::array<std::uint8_t, kNonceLen> nonce_for(const SuiteParams& suite, const DirectionKeys& keys,
                                              std::uint64_t seq,
                                              std::span<const std::uint8_t> explicit_nonce) {
  std::array<std::uint8_t, kNonceLen> nonce = keys.iv;
  if (suite.explicit_nonce_len > 0) {
    for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = explicit_nonce[i];
  } else {
    for (std::size_t i = 0; i < 8; ++i) {
      nonce[kNonceLen - 1 - i] ^= static_cast<std::uint8_t>(seq >> (8 * i));
    }
  }
  return nonce;
}

}  // namespace

bool RecordAead::seal(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
                      std::uint8_t type, std::span<const std::uint8_t> content,
                      std::span<std::uint8_t> out) {
  const std::size_t ex = suite.explicit_nonce_len;
  if (out.size() != body_len(suite, content.size())) return false;
  if (ex > 0) put_u64(out.data(), seq);
  const auto nonce = nonce_for(suite, keys, seq, out.first(ex));
  const auto ad = additional_data(seq, type, content.size());
  return ctx_.seal({cipher_for(suite), keys.key.data(), nonce}, ad, content, {}, out.subspan(ex));
}

bool RecordAead::open(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
                      std::uint8_t type, std::span<const std::uint8_t> body,
                      std::span<std::uint8_t> out) {
  const std::size_t ex = suite.explicit_nonce_len;
  if (body.size() < ex + kTagLen || out.size() != body.size() - ex - kTagLen) return false;
  const auto nonce = nonce_for(suite, keys, seq, body.first(ex));
  const auto ad = additional_data(seq, type, out.size());
  return ctx_.open({cipher_for(suite), keys.key.data(), nonce}, ad, body.subspan(ex), out);
}

}  // namespace wb::tls12
