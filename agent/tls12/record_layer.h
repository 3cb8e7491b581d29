// TLS 1.2 record protection for a connection whose handshake OpenSSL already did, AEAD suites
// only (RFC 5246 6.2, 7.2, 7.4.1.1; RFC 5288, 5289, 7905): the coordinator frees the SSL object
// of an idle intercepted connection and hands the master secret, randoms, suite and sequence
// numbers to a RecordLayer, which keeps the tls13::RecordProtection byte-transform contract.
// Post-handshake rules: application data flows; warning alerts are ignored except close_notify;
// a HelloRequest (we are the client) is ignored or declined (see HelloRequestPolicy); any other
// handshake message or a ChangeCipherSpec ends the connection with a fatal alert (we never
// renegotiate: there is no handshake state left). Nothing throws; every input is bounded.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/tls12/record_aead.h"
#include "agent/tls12/suite.h"
#include "agent/tls13/record_buffers.h"
#include "agent/tls13/record_protection.h"

namespace wb::tls12 {

// What the coordinator hands over when it frees an endpoint's SSL object. Valid only when:
// - the handshake is complete and no renegotiation is under way (SSL_renegotiate_pending() == 0);
// - the SSL consumed every complete record it was fed (SSL_read returned WANT_READ, no partial
//   record in its read BIO) and everything in its write BIO went out before our output;
// - the seqs count the records each side sent since its latest ChangeCipherSpec: with
//   SSL_CTX_set_msg_callback, take the content_type SSL3_RT_HEADER calls per direction (write_p
//   1: ours, 0: the peer's); a header whose type byte (buf[0]) is 20 (change_cipher_spec) sets
//   that direction's count to 0, every later header adds 1. The Finished right after the CCS is
//   thus seq 0, and right after the handshake (full or resumed) both seqs are 1. Do not rely on
//   the SSL3_RT_CHANGE_CIPHER_SPEC message call: OpenSSL 3.0 makes it for a CCS it writes but
//   not for one it reads. Do not reuse the TLS 1.3 rule (base at the Finished): in TLS 1.2 the
//   Finished is the first record under the new keys. An off-by-one seq fails the first record
//   with bad_record_mac.
//   OpenSSL reports a read header as soon as it parsed it, before the body arrived: the read
//   count is right only when the ciphertext fed to the SSL ends at a record boundary
//   (tls13::RecordBoundaries::at_boundary()), which the handoff needs anyway since bytes inside
//   the SSL's buffer are lost with it.
// The caller wipes its own copy of master_secret (create() wipes the one it was given).
struct Handoff {
  std::uint16_t cipher_suite;                                // SSL_CIPHER_get_protocol_id
  bool is_client;                                            // role of OUR side
  std::array<std::uint8_t, kMasterSecretLen> master_secret;  // SSL_SESSION_get_master_key
  std::array<std::uint8_t, kRandomLen> client_random;        // SSL_get_client_random
  std::array<std::uint8_t, kRandomLen> server_random;        // SSL_get_server_random
  std::uint64_t read_seq;   // next record seq expected from the peer
  std::uint64_t write_seq;  // next seq we send
};

// What our client side does with a server's HelloRequest (RFC 5246 7.4.1.1: the client "MAY"
// ignore it or answer with a warning no_renegotiation). OpenSSL servers (every version up to 3.x,
// ssl3_read_bytes) turn that warning into a fatal handshake_failure, so declining kills exactly
// the connection the server wanted to keep; ignoring leaves the server on its current keys.
enum class HelloRequestPolicy : std::uint8_t { kIgnore, kDecline };

struct Options {
  HelloRequestPolicy hello_request = HelloRequestPolicy::kIgnore;
};

class RecordLayer final : public tls13::RecordProtection {
 public:
  using Progress = tls13::RecordProtection::Progress;
  using Failure = tls13::RecordProtection::Failure;

  // Derives the key block (PRF with the suite's hash); the handoff's master secret is wiped.
  // Unsupported suites are refused.
  static Result<std::unique_ptr<RecordLayer>> create(Handoff handoff, Options options = {});
  ~RecordLayer() override;

  void feed(std::span<const std::uint8_t> ciphertext) override;
  void feed_eof() override;
  std::span<const std::uint8_t> output() const override { return out_; }
  void consume_output() override { out_.clear(); }

  Progress read_into(std::span<std::uint8_t> out, std::size_t& got) override;
  Status write(std::span<const std::uint8_t> plaintext) override;
  void shutdown() override;

  void release_buffers() override;
  std::size_t buffer_capacity() const override;
  bool holds_cipher_contexts() const {
    return read_.aead.holds_context() || write_.aead.holds_context();
  }
  const Failure& failure() const override { return failure_; }

  std::uint64_t read_seq() const { return read_.seq; }
  std::uint64_t write_seq() const { return write_.seq; }
  // HelloRequests received (ignored or declined).
  std::uint64_t hello_requests() const { return hello_requests_; }

 private:
  struct Direction {
    DirectionKeys keys;
    std::uint64_t seq = 0;
    RecordAead aead;
  };
  RecordLayer(const Handoff& handoff, const SuiteParams& suite, Options options);

  Progress read_record(std::span<std::uint8_t> out, std::size_t& got, bool& again);
  bool handle_alert(std::span<const std::uint8_t> content);
  bool handle_handshake(std::span<const std::uint8_t> content);
  bool seal(std::uint8_t type, std::span<const std::uint8_t> content);
  Progress fail(int alert, const std::string& why = {});

  SuiteParams suite_;
  bool is_client_;
  Options options_;
  bool eof_ = false;
  bool close_received_ = false;
  bool close_sent_ = false;
  bool failed_ = false;
  std::uint8_t handshake_got_ = 0;  // bytes of a handshake message header split across records
  std::array<std::uint8_t, 4> handshake_{};
  std::uint64_t hello_requests_ = 0;
  Direction read_;
  Direction write_;
  tls13::RecordBuffers buffers_;   // ciphertext fed, plaintext of one record
  std::vector<std::uint8_t> out_;  // ciphertext for the peer
  Failure failure_;
};

}  // namespace wb::tls12
