// TLS 1.3 record protection for a connection whose handshake OpenSSL already did (RFC 8446 5,
// 4.6.3, 6, 7.1-7.3): the coordinator frees the SSL object of an idle intercepted connection and
// hands the current application traffic secrets, suite and sequence numbers to a RecordLayer,
// which keeps the byte-transform contract of intercept::TlsEndpoint after its handshake. Crypto
// primitives are OpenSSL's (EVP AEAD, EVP_KDF HKDF); framing, post-handshake messages, alerts and
// KeyUpdate are here, as Linux kTLS does it. Nothing throws; every input is bounded.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/tls13/key_schedule.h"
#include "agent/tls13/record_aead.h"
#include "agent/tls13/record_buffers.h"
#include "agent/tls13/record_protection.h"
#include "agent/tls13/suite.h"

namespace wb::tls13 {

// What the coordinator hands over when it frees an endpoint's SSL object. Valid only when: the
// SSL has consumed every complete record it was fed (SSL_read returned WANT_READ, no partial
// record in its read BIO) and has nothing left in its write BIO; both ciphertext streams are at a
// record boundary (RecordBoundaries::at_boundary()); the seqs count the records each side sent
// under its application traffic key (NewSessionTickets included); and no KeyUpdate happened on
// the connection yet (the key log only reports the *_TRAFFIC_SECRET_0 secrets).
struct Handoff {
  Suite suite;
  bool is_client;          // role of OUR side
  Secret read_secret;      // current application traffic secret of the peer's direction
  std::uint64_t read_seq;  // next record sequence number we expect
  Secret write_secret;
  std::uint64_t write_seq;  // next sequence number we send
};

// Knobs for tests; production uses the defaults.
struct RecordLayerOptions {
  // We send our own KeyUpdate once this many records went out under one key (RFC 8446 5.5: AES-GCM
  // may protect at most 2^24.5 full-size records per key).
  std::uint64_t key_update_after = std::uint64_t{1} << 24;
};

class RecordLayer final : public RecordProtection {
 public:
  using Progress = RecordProtection::Progress;
  using Failure = RecordProtection::Failure;

  // Derives both directions' key and IV (HKDF-Expand-Label); the handoff's secrets move in.
  static Result<std::unique_ptr<RecordLayer>> create(Handoff handoff,
                                                     RecordLayerOptions options = {});
  ~RecordLayer() override;
  RecordLayer(const RecordLayer&) = delete;
  RecordLayer& operator=(const RecordLayer&) = delete;

  // ---- network side ----
  void feed(std::span<const std::uint8_t> ciphertext) override;
  // The peer's FIN: reads end (kClosed after close_notify, else kFailed/kPeerClosed once the
  // buffered complete records are read).
  void feed_eof() override;
  // Ciphertext for the peer, valid until consume_output() or the next write/read/shutdown.
  std::span<const std::uint8_t> output() const override { return out_; }
  void consume_output() override { out_.clear(); }

  // ---- TLS ----
  // Fills `out` from its start with the plaintext of at most one record; kDone when got > 0.
  Progress read_into(std::span<std::uint8_t> out, std::size_t& got) override;
  // Encrypts all of `plaintext` in records of at most 2^14 bytes.
  Status write(std::span<const std::uint8_t> plaintext) override;
  // Queues close_notify (idempotent). write() afterwards is an error.
  void shutdown() override;

  // Gives back the grown buffers and the cipher contexts when drained (call when idle).
  void release_buffers() override;
  // Bytes the buffers hold allocated (not counting the cipher contexts).
  std::size_t buffer_capacity() const override;
  // Whether an EVP_CIPHER_CTX is allocated now (none after release_buffers() until traffic).
  bool holds_cipher_contexts() const {
    return read_.aead.holds_context() || write_.aead.holds_context();
  }

  const Failure& failure() const override { return failure_; }
  // KeyUpdates done, both directions (ours sent plus the peer's received).
  std::uint64_t key_updates() const { return key_updates_; }
  std::uint64_t read_seq() const { return read_.seq; }
  std::uint64_t write_seq() const { return write_.seq; }

 private:
  struct Direction {
    Secret secret;
    TrafficKeys keys;
    std::uint64_t seq = 0;
    RecordAead aead;
  };
  RecordLayer(Handoff& handoff, RecordLayerOptions options);

  // One record from the input: kDone with got > 0 (application data), kWantMore (incomplete),
  // or a terminal state; `again` says a record was consumed without output for the caller.
  Progress read_record(std::span<std::uint8_t> out, std::size_t& got, bool& again);
  // Post-handshake messages in one record's content (RFC 8446 4.6).
  bool handle_handshake(std::span<const std::uint8_t> content);
  bool handle_message(std::uint8_t type, std::span<const std::uint8_t> body, bool last_in_record);
  bool handle_alert(std::span<const std::uint8_t> content);
  // Seals one record of `type` into out_ (our KeyUpdate first when the key is worn out).
  bool seal(std::uint8_t type, std::span<const std::uint8_t> content);
  bool send_key_update(bool request_update);
  bool update_key(Direction& d);
  // Terminal error: queues an encrypted fatal alert and drops everything buffered.
  Progress fail(int alert, const std::string& why = {});

  Suite suite_;
  bool is_client_;
  bool eof_ = false;
  bool close_received_ = false;
  bool close_sent_ = false;
  bool failed_ = false;
  std::uint64_t key_update_after_;
  std::uint64_t key_updates_ = 0;
  Direction read_;
  Direction write_;
  RecordBuffers buffers_;                // ciphertext fed, plaintext of one record
  std::vector<std::uint8_t> out_;        // ciphertext for the peer
  std::vector<std::uint8_t> handshake_;  // a post-handshake message split across records
  Failure failure_;
};

}  // namespace wb::tls13
