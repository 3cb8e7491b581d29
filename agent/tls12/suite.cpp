#include "agent/tls12/suite.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>
#include <string>

namespace wb::tls12 {
namespace {

constexpr SuiteParams kAes128{Cipher::kAes128Gcm, 16, 4, 8, "SHA256", "AES-128-GCM"};
constexpr SuiteParams kAes256{Cipher::kAes256Gcm, 32, 4, 8, "SHA384", "AES-256-GCM"};
constexpr SuiteParams kChacha{Cipher::kChacha20Poly1305, 32, 12, 0, "SHA256", "ChaCha20-Poly1305"};

struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

}  // namespace

std::optional<SuiteParams> suite_params(std::uint16_t cipher_suite) {
  switch (cipher_suite) {
    case 0x009C:  // TLS_RSA_WITH_AES_128_GCM_SHA256
    case 0x009E:  // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    case 0xC02B:  // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    case 0xC02F:  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
      return kAes128;
    case 0x009D:  // TLS_RSA_WITH_AES_256_GCM_SHA384
    case 0x009F:  // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
    case 0xC02C:  // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    case 0xC030:  // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
      return kAes256;
    case 0xCCA8:  // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    case 0xCCA9:  // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    case 0xCCAA:  // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
      return kChacha;
    default:
      return std::nullopt;
  }
}

bool supported_suite(std::uint16_t cipher_suite) {
  return suite_params(cipher_suite).has_value();
}

DirectionKeys::~DirectionKeys() {
  wipe();
}

void DirectionKeys::wipe() {
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(iv.data(), iv.size());
}

Status prf(const char* digest, std::span<const std::uint8_t> secret, std::string_view label,
           std::span<const std::uint8_t> seed, std::span<std::uint8_t> out) {
  // Fetched once per process; a context per call (derivation happens once per connection).
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_TLS1_PRF, nullptr);
  if (kdf == nullptr) return make_error(std::errc::not_supported, "tls12 prf: no TLS1-PRF");
  std::unique_ptr<EVP_KDF_CTX, KdfFree> ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return make_error(std::errc::not_enough_memory, "tls12 prf: context");
  // TLS1-PRF concatenates repeated seed parameters: label || seed.
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
                                        const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<std::uint8_t*>(seed.data()),
                                        seed.size()),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return make_error(std::errc::protocol_error, "tls12 prf: derive failed");
  }
  return {};
}

Status derive_key_block(const SuiteParams& suite,
                        std::span<const std::uint8_t, kMasterSecretLen> master_secret,
                        std::span<const std::uint8_t, kRandomLen> client_random,
                        std::span<const std::uint8_t, kRandomLen> server_random,
                        DirectionKeys& client_write, DirectionKeys& server_write) {
  std::array<std::uint8_t, 2 * kRandomLen> seed{};
  std::copy(server_random.begin(), server_random.end(), seed.begin());
  std::copy(client_random.begin(), client_random.end(), seed.begin() + kRandomLen);
  std::array<std::uint8_t, 2 * (kMaxKeyLen + kNonceLen)> block{};
  const std::size_t k = suite.key_len;
  const std::size_t iv = suite.fixed_iv_len;
  const std::span<std::uint8_t> used = std::span(block).first(2 * (k + iv));
  Status st = prf(suite.prf_digest, master_secret, "key expansion", seed, used);
  if (st.ok()) {
    client_write.wipe();
    server_write.wipe();
    std::copy_n(used.begin(), k, client_write.key.begin());
    std::copy_n(used.begin() + static_cast<std::ptrdiff_t>(k), k, server_write.key.begin());
    std::copy_n(used.begin() + static_cast<std::ptrdiff_t>(2 * k), iv, client_write.iv.begin());
    std::copy_n(used.begin() + static_cast<std::ptrdiff_t>(2 * k + iv), iv,
                server_write.iv.begin());
  }
  OPENSSL_cleanse(block.data(), block.size());
  return st;
}

}  // namespace wb::tls12
