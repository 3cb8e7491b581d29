// Counts complete TLS records in a ciphertext byte stream fed in arbitrary pieces, so the
// coordinator knows each direction's record sequence number when it hands a connection from
// OpenSSL to RecordLayer (the sequence number is the count of records under the current key).
#pragma once

#include <cstdint>
#include <span>

namespace wb::tls13 {

class RecordBoundaries {
 public:
  // Largest TLSCiphertext.length RFC 8446 5.2 allows (2^14 + 256).
  static constexpr std::uint32_t kMaxRecordLength = (1u << 14) + 256;

  // Advances over `bytes`. Once malformed, further bytes are ignored.
  void consume(std::span<const std::uint8_t> bytes);
  std::uint64_t complete() const { return complete_; }
  // True when the bytes seen so far end exactly after a complete record (or none at all).
  bool at_boundary() const { return header_got_ == 0 && body_left_ == 0; }
  // A record header announced a length above kMaxRecordLength.
  bool malformed() const { return malformed_; }

 private:
  std::uint64_t complete_ = 0;
  std::uint32_t body_left_ = 0;
  std::uint8_t header_got_ = 0;
  std::uint8_t length_hi_ = 0;
  bool malformed_ = false;
};

}  // namespace wb::tls13
