#include "agent/tls13/record_aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace wb::tls13 {
namespace {

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

RecordAead::~RecordAead() {
  release();
}

void RecordAead::release() {
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the expanded key schedule
  ctx_ = nullptr;
  keyed_ = false;
}

bool RecordAead::prepare(Suite suite, const TrafficKeys& keys, std::uint64_t seq, bool encrypt) {
  const EVP_CIPHER* cipher = cipher_for(suite);
  if (cipher == nullptr) return false;
  if (ctx_ == nullptr) {
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr) return false;
    keyed_ = false;
  }
  const int enc = encrypt ? 1 : 0;
  if (!keyed_) {
    if (EVP_CipherInit_ex2(ctx_, cipher, keys.key.data(), nullptr, enc, nullptr) != 1) return false;
    keyed_ = true;
  }
  const auto nonce = nonce_for(keys, seq);
  return EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce.data(), enc, nullptr) == 1;
}

bool RecordAead::seal(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
                      std::span<const std::uint8_t, kHeaderLen> header,
                      std::span<const std::uint8_t> content, std::uint8_t type,
                      std::span<std::uint8_t> out) {
  if (out.size() != content.size() + 1 + kTagLen) return false;
  if (!prepare(suite, keys, seq, true)) return false;
  int len = 0;
  if (EVP_EncryptUpdate(ctx_, nullptr, &len, header.data(), kHeaderLen) != 1) return false;
  std::size_t done = 0;
  if (!content.empty()) {
    if (EVP_EncryptUpdate(ctx_, out.data(), &len, content.data(),
                          static_cast<int>(content.size())) != 1) {
      return false;
    }
    done += static_cast<std::size_t>(len);
  }
  if (EVP_EncryptUpdate(ctx_, out.data() + done, &len, &type, 1) != 1) return false;
  done += static_cast<std::size_t>(len);
  if (EVP_EncryptFinal_ex(ctx_, out.data() + done, &len) != 1) return false;
  done += static_cast<std::size_t>(len);
  if (done != content.size() + 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagLen, out.data() + done) == 1;
}

bool RecordAead::open(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
                      std::span<const std::uint8_t, kHeaderLen> header,
                      std::span<const std::uint8_t> body, std::span<std::uint8_t> out) {
  if (body.size() < kTagLen || out.size() != body.size() - kTagLen) return false;
  // Copied before decrypting: body and out may be the same bytes.
  std::array<std::uint8_t, kTagLen> tag{};
  for (std::size_t i = 0; i < kTagLen; ++i) tag[i] = body[out.size() + i];
  bool ok = prepare(suite, keys, seq, false);
  int len = 0;
  std::size_t done = 0;
  ok = ok && EVP_DecryptUpdate(ctx_, nullptr, &len, header.data(), kHeaderLen) == 1;
  if (ok && !out.empty()) {
    ok = EVP_DecryptUpdate(ctx_, out.data(), &len, body.data(), static_cast<int>(out.size())) == 1;
    done = ok ? static_cast<std::size_t>(len) : 0;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx_, out.data() + done, &len) == 1;
  ok = ok && done + static_cast<std::size_t>(len) == out.size();
  // Unauthenticated plaintext never leaves: the caller may have handed its own buffer.
  if (!ok && !out.empty()) OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

}  // namespace wb::tls13
