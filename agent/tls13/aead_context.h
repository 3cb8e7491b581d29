// The EVP_CIPHER_CTX both record AEADs (tls13::RecordAead, tls12::RecordAead) drive: made on
// first use, keyed once per key and way (a direction only ever seals or only ever opens), so a
// busy direction pays only a nonce set per record; release() gives it back (about 1 KiB with its
// provider state) when idle. The 96-bit nonce and the 128-bit tag are the same for every AEAD
// suite of TLS 1.2 and 1.3 we implement; what differs (nonce and additional data) is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;

namespace wb::tls13 {

inline constexpr std::size_t kAeadNonceLen = 12;
inline constexpr std::size_t kAeadTagLen = 16;

class AeadContext {
 public:
  AeadContext() = default;
  ~AeadContext();
  AeadContext(const AeadContext&) = delete;
  AeadContext& operator=(const AeadContext&) = delete;

  // The key changed: the context must be keyed again before the next record.
  void rekey() { keyed_ = false; }
  // Frees the cipher context (cleansing the expanded key); the next seal/open makes a new one.
  void release();
  bool holds_context() const { return ctx_ != nullptr; }

  // What one record is protected with: `cipher` (nullptr fails), its key, the record's nonce.
  struct Keying {
    const EVP_CIPHER* cipher;
    const std::uint8_t* key;
    std::span<const std::uint8_t, kAeadNonceLen> nonce;
  };

  // out = encrypt(content || trailer) || tag; out.size() must be content + trailer + tag.
  // content and out must not overlap.
  bool seal(const Keying& k, std::span<const std::uint8_t> ad,
            std::span<const std::uint8_t> content, std::span<const std::uint8_t> trailer,
            std::span<std::uint8_t> out);
  // sealed = ciphertext || tag: out = decrypt(ciphertext) when the tag verifies; out.size() must
  // be sealed.size() - tag. On failure out is cleansed (unauthenticated plaintext never leaves:
  // it may be the caller's buffer). out may start at sealed's first byte.
  bool open(const Keying& k, std::span<const std::uint8_t> ad, std::span<const std::uint8_t> sealed,
            std::span<std::uint8_t> out);

 private:
  bool prepare(const Keying& k, bool encrypt);

  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool keyed_ = false;
  bool keyed_encrypt_ = false;
};

}  // namespace wb::tls13
