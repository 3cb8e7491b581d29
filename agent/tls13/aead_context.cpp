#include "agent/tls13/aead_context.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace wb::tls13 {

AeadContext::~AeadContext() {
  release();
}

void AeadContext::release() {
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the expanded key schedule
  ctx_ = nullptr;
  keyed_ = false;
}

bool AeadContext::prepare(const Keying& k, bool encrypt) {
  if (k.cipher == nullptr) return false;
  if (ctx_ == nullptr) {
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr) return false;
    keyed_ = false;
  }
  const int enc = encrypt ? 1 : 0;
  if (!keyed_ || keyed_encrypt_ != encrypt) {
    if (EVP_CipherInit_ex2(ctx_, k.cipher, k.key, nullptr, enc, nullptr) != 1) return false;
    keyed_ = true;
    keyed_encrypt_ = encrypt;
  }
  return EVP_CipherInit_ex2(ctx_, nullptr, nullptr, k.nonce.data(), enc, nullptr) == 1;
}

bool AeadContext::seal(const Keying& k, std::span<const std::uint8_t> ad,
                       std::span<const std::uint8_t> content, std::span<const std::uint8_t> trailer,
                       std::span<std::uint8_t> out) {
  const std::size_t plain_len = content.size() + trailer.size();
  if (out.size() != plain_len + kAeadTagLen) return false;
  if (!prepare(k, true)) return false;
  int len = 0;
  if (EVP_EncryptUpdate(ctx_, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1) {
    return false;
  }
  std::size_t done = 0;
  for (const std::span<const std::uint8_t> part : {content, trailer}) {
    if (part.empty()) continue;
    if (EVP_EncryptUpdate(ctx_, out.data() + done, &len, part.data(),
                          static_cast<int>(part.size())) != 1) {
      return false;
    }
    done += static_cast<std::size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx_, out.data() + done, &len) != 1) return false;
  done += static_cast<std::size_t>(len);
  if (done != plain_len) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kAeadTagLen, out.data() + done) == 1;
}

bool AeadContext::open(const Keying& k, std::span<const std::uint8_t> ad,
                       std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out) {
  if (sealed.size() < kAeadTagLen || out.size() != sealed.size() - kAeadTagLen) return false;
  // Copied before decrypting: out may be the sealed bytes themselves.
  std::array<std::uint8_t, kAeadTagLen> tag{};
  std::copy_n(sealed.begin() + static_cast<std::ptrdiff_t>(out.size()), kAeadTagLen, tag.begin());
  bool ok = prepare(k, false);
  int len = 0;
  std::size_t done = 0;
  ok = ok && EVP_DecryptUpdate(ctx_, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1;
  if (ok && !out.empty()) {
    ok =
        EVP_DecryptUpdate(ctx_, out.data(), &len, sealed.data(), static_cast<int>(out.size())) == 1;
    done = ok ? static_cast<std::size_t>(len) : 0;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kAeadTagLen, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx_, out.data() + done, &len) == 1;
  ok = ok && done + static_cast<std::size_t>(len) == out.size();
  if (!ok && !out.empty()) OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

}  // namespace wb::tls13
