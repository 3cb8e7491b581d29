// Seals and opens one TLS 1.3 record body with the suite's AEAD (RFC 8446 5.2, 5.3): the nonce
// is the IV XOR the 64-bit sequence number left-padded to 12 bytes, the additional data is the
// 5-byte record header. The EVP_CIPHER is fetched once per process; the EVP_CIPHER_CTX (about
// 1 KiB with its provider state) is made on first use and keyed once per key, so a busy
// direction pays only a nonce set per record, and release() gives it back when idle.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "agent/tls13/aead_context.h"
#include "agent/tls13/key_schedule.h"
#include "agent/tls13/suite.h"

namespace wb::tls13 {

inline constexpr std::size_t kHeaderLen = 5;

class RecordAead {
 public:
  // The key changed (KeyUpdate): the context must be keyed again before the next record.
  void rekey() { ctx_.rekey(); }
  // Frees the cipher context (idle); the next seal/open makes a new one.
  void release() { ctx_.release(); }
  bool holds_context() const { return ctx_.holds_context(); }

  // out = encrypt(content || type) || tag; out.size() must be content.size() + 1 + kTagLen.
  // content and out must not overlap.
  bool seal(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
            std::span<const std::uint8_t, kHeaderLen> header, std::span<const std::uint8_t> content,
            std::uint8_t type, std::span<std::uint8_t> out);
  // out = decrypt(body without tag); out.size() must be body.size() - kTagLen. False when the
  // tag does not verify (out is then cleansed). body and out may be the same bytes.
  bool open(Suite suite, const TrafficKeys& keys, std::uint64_t seq,
            std::span<const std::uint8_t, kHeaderLen> header, std::span<const std::uint8_t> body,
            std::span<std::uint8_t> out);

 private:
  AeadContext ctx_;
};

}  // namespace wb::tls13
