#include "agent/tls12/record_aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace wb::tls12 {
namespace {

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

RecordAead::~RecordAead() {
  release();
}

void RecordAead::release() {
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the expanded key schedule
  ctx_ = nullptr;
  keyed_ = false;
}

bool RecordAead::prepare(const SuiteParams& suite, const DirectionKeys& keys,
                         std::span<const std::uint8_t, kNonceLen> nonce, bool encrypt) {
  const EVP_CIPHER* cipher = cipher_for(suite);
  if (cipher == nullptr) return false;
  if (ctx_ == nullptr) {
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr) return false;
    keyed_ = false;
  }
  const int enc = encrypt ? 1 : 0;
  // A direction only ever seals or only ever opens, so the key is set once per context.
  if (!keyed_ || keyed_encrypt_ != encrypt) {
    if (EVP_CipherInit_ex2(ctx_, cipher, keys.key.data(), nullptr, enc, nullptr) != 1) return false;
    keyed_ = true;
    keyed_encrypt_ = encrypt;
  }
  return EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce.data(), enc, nullptr) == 1;
}

bool RecordAead::seal(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
                      std::uint8_t type, std::span<const std::uint8_t> content,
                      std::span<std::uint8_t> out) {
  const std::size_t ex = suite.explicit_nonce_len;
  if (out.size() != body_len(suite, content.size())) return false;
  if (ex > 0) put_u64(out.data(), seq);
  const auto nonce = nonce_for(suite, keys, seq, out.first(ex));
  if (!prepare(suite, keys, nonce, true)) return false;
  const auto ad = additional_data(seq, type, content.size());
  int len = 0;
  if (EVP_EncryptUpdate(ctx_, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1) {
    return false;
  }
  std::size_t done = 0;
  if (!content.empty()) {
    if (EVP_EncryptUpdate(ctx_, out.data() + ex, &len, content.data(),
                          static_cast<int>(content.size())) != 1) {
      return false;
    }
    done = static_cast<std::size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx_, out.data() + ex + done, &len) != 1) return false;
  done += static_cast<std::size_t>(len);
  if (done != content.size()) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagLen, out.data() + ex + done) == 1;
}

bool RecordAead::open(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
                      std::uint8_t type, std::span<const std::uint8_t> body,
                      std::span<std::uint8_t> out) {
  const std::size_t ex = suite.explicit_nonce_len;
  if (body.size() < ex + kTagLen || out.size() != body.size() - ex - kTagLen) return false;
  // Copied before decrypting: out may be the body's own bytes.
  std::array<std::uint8_t, kTagLen> tag{};
  for (std::size_t i = 0; i < kTagLen; ++i) tag[i] = body[ex + out.size() + i];
  const auto nonce = nonce_for(suite, keys, seq, body.first(ex));
  const auto ad = additional_data(seq, type, out.size());
  bool ok = prepare(suite, keys, nonce, false);
  int len = 0;
  std::size_t done = 0;
  ok = ok && EVP_DecryptUpdate(ctx_, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1;
  if (ok && !out.empty()) {
    ok = EVP_DecryptUpdate(ctx_, out.data(), &len, body.data() + ex,
                           static_cast<int>(out.size())) == 1;
    done = ok ? static_cast<std::size_t>(len) : 0;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx_, out.data() + done, &len) == 1;
  ok = ok && done + static_cast<std::size_t>(len) == out.size();
  // Unauthenticated plaintext never leaves: the caller may have handed its own buffer.
  if (!ok && !out.empty()) OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

}  // namespace wb::tls12
