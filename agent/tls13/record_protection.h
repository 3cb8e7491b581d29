// The byte-transform contract of a compacted (idle) intercepted TLS connection after its
// handshake, whatever the protocol version: ciphertext from the network goes in with feed(),
// plaintext comes out with read_into(), plaintext goes in with write()/shutdown() and ciphertext
// for the network comes out with output(). tls13::RecordLayer (RFC 8446) and tls12::RecordLayer
// (RFC 5246 AEAD suites) implement it, so the coordinator drives either through this interface
// once it freed the OpenSSL SSL object. Nothing throws; every input is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "agent/common/result.h"

namespace wb::tls13 {

class RecordProtection {
 public:
  enum class Progress : std::uint8_t {
    kWantMore,  // needs more ciphertext (flush output() first)
    kDone,      // plaintext produced
    kClosed,    // the peer sent close_notify
    kFailed,    // see failure()
  };
  struct Failure {
    enum class Kind : std::uint8_t { kNone, kAlertReceived, kAlertSent, kPeerClosed };
    Kind kind = Kind::kNone;
    int alert = -1;
    std::string reason;  // "alert bad_record_mac sent", "alert decode_error received", ...
  };

  virtual ~RecordProtection() = default;
  RecordProtection(const RecordProtection&) = delete;
  RecordProtection& operator=(const RecordProtection&) = delete;

  // ---- network side ----
  virtual void feed(std::span<const std::uint8_t> ciphertext) = 0;
  // The peer's FIN: reads end (kClosed after close_notify, else kFailed/kPeerClosed once the
  // buffered complete records are read).
  virtual void feed_eof() = 0;
  // Ciphertext for the peer, valid until consume_output() or the next write/read/shutdown.
  virtual std::span<const std::uint8_t> output() const = 0;
  virtual void consume_output() = 0;

  // ---- TLS ----
  // Fills `out` from its start with the plaintext of at most one record; kDone when got > 0.
  virtual Progress read_into(std::span<std::uint8_t> out, std::size_t& got) = 0;
  // Encrypts all of `plaintext` in records of at most 2^14 bytes.
  virtual Status write(std::span<const std::uint8_t> plaintext) = 0;
  // Queues close_notify (idempotent). write() afterwards is an error.
  virtual void shutdown() = 0;

  // Gives back the grown buffers and the cipher contexts when drained (call when idle).
  virtual void release_buffers() = 0;
  // Bytes the buffers hold allocated (not counting the cipher contexts).
  virtual std::size_t buffer_capacity() const = 0;

  virtual const Failure& failure() const = 0;

 protected:
  RecordProtection() = default;
};

}  // namespace wb::tls13
