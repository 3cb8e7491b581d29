// Seals and opens one TLS 1.2 AEAD record body (RFC 5246 6.2.3.3): additional data is
// seq_num(8) || type(1) || version 0x0303(2) || plaintext length(2). AES-GCM (RFC 5288 3): nonce =
// 4-byte salt || 8-byte explicit nonce, and the explicit nonce leads the record body. We send
// the sequence number there (RFC 5288 3 allows it; BoringSSL, Go and NSS do the same) and accept
// any value from the peer. OpenSSL instead counts up from a random 64-bit start, so the records
// it sealed before the handoff used nonces r..r+n-1 under the same key: meeting one of them
// again has probability about (records before + after the switch) / 2^64. ChaCha20-Poly1305
// (RFC 7905 2): nonce = 12-byte IV XOR the left-padded sequence number, nothing explicit. The
// EVP_CIPHER_CTX is made on first use and keyed once, so a busy direction pays a nonce set per
// record; release() gives it back when idle.
#pragma once

#include <cstdint>
#include <span>

#include "agent/tls12/suite.h"
#include "agent/tls13/aead_context.h"

namespace wb::tls12 {

class RecordAead {
 public:
  void release() { ctx_.release(); }
  bool holds_context() const { return ctx_.holds_context(); }

  // Body bytes a record of `plaintext_len` takes: explicit nonce + plaintext + tag.
  static std::size_t body_len(const SuiteParams& suite, std::size_t plaintext_len) {
    return suite.explicit_nonce_len + plaintext_len + kTagLen;
  }

  // out (body_len bytes) = explicit nonce || encrypt(content) || tag. No overlap.
  bool seal(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
            std::uint8_t type, std::span<const std::uint8_t> content, std::span<std::uint8_t> out);
  // out (body.size() - explicit - tag bytes) = decrypt(body); false when the tag does not verify
  // (out is then cleansed). body and out may overlap only when out starts at the ciphertext.
  bool open(const SuiteParams& suite, const DirectionKeys& keys, std::uint64_t seq,
            std::uint8_t type, std::span<const std::uint8_t> body, std::span<std::uint8_t> out);

 private:
  tls13::AeadContext ctx_;
};

}  // namespace wb::tls12
