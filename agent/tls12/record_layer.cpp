#include "agent/tls12/record_layer.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "agent/tls13/alerts.h"

namespace wb::tls12 {
namespace {

constexpr std::uint8_t kTypeChangeCipherSpec = 20;
constexpr std::uint8_t kTypeAlert = 21;
constexpr std::uint8_t kTypeHandshake = 22;
constexpr std::uint8_t kTypeApplicationData = 23;
constexpr std::size_t kHeaderLen = 5;
constexpr std::size_t kMaxPlaintext = std::size_t{1} << 14;
constexpr std::size_t kMaxCiphertext = kMaxPlaintext + 2048;  // RFC 5246 6.2.3
constexpr std::uint8_t kLevelWarning = 1;
constexpr std::uint8_t kLevelFatal = 2;
constexpr int kHandshakeFailure = 40;
constexpr int kProtocolVersion = 70;
constexpr int kNoRenegotiation = 100;
constexpr std::uint8_t kHelloRequest = 0;
constexpr std::uint8_t kClientHello = 1;

std::string alert_name(int alert) {
  return alert == kNoRenegotiation ? "no_renegotiation" : tls13::alert_name(alert);
}

}  // namespace

RecordLayer::RecordLayer(const Handoff& handoff, const SuiteParams& suite, Options options)
    : suite_(suite), is_client_(handoff.is_client), options_(options) {
  read_.seq = handoff.read_seq;
  write_.seq = handoff.write_seq;
}

RecordLayer::~RecordLayer() = default;  // buffers_ cleanses the plaintext it holds

Result<std::unique_ptr<RecordLayer>> RecordLayer::create(Handoff handoff, Options options) {
  const auto suite = suite_params(handoff.cipher_suite);
  if (!suite) {
    OPENSSL_cleanse(handoff.master_secret.data(), handoff.master_secret.size());
    return make_error(std::errc::not_supported, "tls12 handoff: cipher suite " +
                                                    std::to_string(handoff.cipher_suite) +
                                                    " is not an AEAD suite we implement");
  }
  std::unique_ptr<RecordLayer> rl(new RecordLayer(handoff, *suite, options));
  DirectionKeys& client = handoff.is_client ? rl->write_.keys : rl->read_.keys;
  DirectionKeys& server = handoff.is_client ? rl->read_.keys : rl->write_.keys;
  Status st = derive_key_block(*suite, handoff.master_secret, handoff.client_random,
                               handoff.server_random, client, server);
  OPENSSL_cleanse(handoff.master_secret.data(), handoff.master_secret.size());
  if (!st.ok()) return st.error();
  return rl;
}

void RecordLayer::feed(std::span<const std::uint8_t> ciphertext) {
  if (failed_ || close_received_ || eof_ || ciphertext.empty()) return;
  buffers_.append_input(ciphertext);
}

void RecordLayer::feed_eof() {
  eof_ = true;
}

RecordLayer::Progress RecordLayer::read_into(std::span<std::uint8_t> out, std::size_t& got) {
  return tls13::read_records(buffers_, out, got, failed_, close_received_,
                             [this](std::span<std::uint8_t> o, std::size_t& g, bool& again) {
                               return read_record(o, g, again);
                             });
}

RecordLayer::Progress RecordLayer::read_record(std::span<std::uint8_t> out, std::size_t& got,
                                               bool& again) {
  const std::span<std::uint8_t> avail = buffers_.input();
  if (avail.size() >= kHeaderLen) {
    // Checked before the body arrives: a peer cannot make us wait for (or buffer) a record
    // that is going to be rejected anyway.
    const std::uint8_t type = avail[0];
    const std::size_t length = (std::size_t{avail[3]} << 8) | avail[4];
    if (type == kTypeChangeCipherSpec) {
      // Only a renegotiation handshake could carry one, and we never renegotiate.
      return fail(tls13::kUnexpectedMessage, "change_cipher_spec after the handshake");
    }
    if (type != kTypeAlert && type != kTypeHandshake && type != kTypeApplicationData) {
      return fail(tls13::kUnexpectedMessage, "record type " + std::to_string(type));
    }
    if (avail[1] != 0x03 || avail[2] != 0x03) {
      return fail(kProtocolVersion, "record version other than TLS 1.2");
    }
    if (length > kMaxCiphertext) return fail(tls13::kRecordOverflow, "ciphertext over 2^14+2048");
    // Larger than any record a 2^14 plaintext makes: refused before buffering the body.
    if (length > RecordAead::body_len(suite_, kMaxPlaintext)) {
      return fail(tls13::kRecordOverflow, "plaintext over 2^14");
    }
    if (avail.size() >= kHeaderLen + length) {
      const std::span<std::uint8_t> body = avail.subspan(kHeaderLen, length);
      buffers_.consume_input(kHeaderLen + length);
      if (length < RecordAead::body_len(suite_, 0)) return fail(tls13::kBadRecordMac, "short");
      if (read_.seq == UINT64_MAX) {
        return fail(tls13::kInternalError, "read sequence number exhausted");
      }
      const std::size_t plain_len = length - RecordAead::body_len(suite_, 0);
      // Application data goes straight into the caller's buffer when it fits; else (and for
      // every other type) into the pending buffer, at most one record.
      std::span<std::uint8_t> dest;
      if (type == kTypeApplicationData && out.size() >= plain_len) {
        dest = out.first(plain_len);
      } else {
        dest = buffers_.pending_for(plain_len);
      }
      if (!read_.aead.open(suite_, read_.keys, read_.seq, type, body, dest)) {
        buffers_.drop_pending();
        return fail(tls13::kBadRecordMac);
      }
      ++read_.seq;
      // RFC 5246 6.2.1: handshake messages split across records must not be interleaved.
      if (type != kTypeHandshake && handshake_got_ > 0) {
        OPENSSL_cleanse(dest.data(), dest.size());
        return fail(tls13::kUnexpectedMessage, "record inside a split handshake message");
      }
      if (type == kTypeApplicationData) {
        if (buffers_.is_pending(dest)) {
          if (buffers_.pending_empty()) {
            again = true;
            return Progress::kWantMore;
          }
          got = buffers_.take_pending(out);
          return Progress::kDone;
        }
        got = dest.size();
        again = got == 0;  // zero-length application data is legal and yields nothing
        return got > 0 ? Progress::kDone : Progress::kWantMore;
      }
      // RFC 5246 6.2.1: no zero-length fragments of handshake or alert content.
      bool ok = false;
      if (dest.empty()) {
        fail(tls13::kUnexpectedMessage,
             "empty " + std::string(type == kTypeAlert ? "alert" : "handshake") + " record");
      } else if (type == kTypeAlert) {
        ok = handle_alert(dest);
      } else {
        ok = handle_handshake(dest);
      }
      buffers_.drop_pending();
      if (!ok || failed_) return Progress::kFailed;
      again = true;
      return Progress::kWantMore;
    }
  }
  if (eof_) {
    failed_ = true;
    failure_ = {Failure::Kind::kPeerClosed, -1,
                avail.empty() ? "peer closed without close_notify" : "peer closed inside a record"};
    return Progress::kFailed;
  }
  return Progress::kWantMore;
}

bool RecordLayer::handle_alert(std::span<const std::uint8_t> content) {
  // One alert per record: OpenSSL never fragments or coalesces alerts, and a split one would
  // have to be buffered for nothing.
  if (content.size() != 2) {
    fail(tls13::kDecodeError, "alert record of " + std::to_string(content.size()) + " bytes");
    return false;
  }
  const std::uint8_t level = content[0];
  const int description = content[1];
  if (level == kLevelWarning) {
    if (description == tls13::kCloseNotify) close_received_ = true;
    // Other warnings (no_renegotiation, user_canceled, ...) change nothing for a connection
    // that is past its handshake; each costs a whole record, so they cannot loop us.
    return true;
  }
  if (level != kLevelFatal) {
    fail(tls13::kIllegalParameter, "alert level " + std::to_string(level));
    return false;
  }
  failed_ = true;
  failure_ = {Failure::Kind::kAlertReceived, description,
              "alert " + alert_name(description) + " received"};
  return false;
}

bool RecordLayer::handle_handshake(std::span<const std::uint8_t> content) {
  // Only a HelloRequest (type 0, empty body: 4 bytes) is acceptable, so at most a 4-byte
  // message header is ever buffered, possibly split across records.
  for (const std::uint8_t byte : content) {
    handshake_[handshake_got_++] = byte;
    if (handshake_got_ == 1 && byte != kHelloRequest) {
      if (byte == kClientHello && !is_client_) {
        // A renegotiation attempt. A warning no_renegotiation would leave the client waiting
        // for a ServerHello (OpenSSL clients abort on it anyway), and there is no handshake
        // state left to renegotiate with: end the connection with handshake_failure, the alert
        // RFC 5246 7.2.2 names for "unable to negotiate an acceptable set of security params".
        fail(kHandshakeFailure, "renegotiation (ClientHello) refused");
      } else {
        fail(tls13::kUnexpectedMessage,
             "handshake message " + std::to_string(byte) + " after the handshake");
      }
      return false;
    }
    if (handshake_got_ < handshake_.size()) continue;
    handshake_got_ = 0;
    if (handshake_[1] != 0 || handshake_[2] != 0 || handshake_[3] != 0) {
      fail(tls13::kDecodeError, "HelloRequest with a body");
      return false;
    }
    if (!is_client_) {
      fail(tls13::kUnexpectedMessage, "HelloRequest sent to the server");
      return false;
    }
    // RFC 5246 7.4.1.1: a client that does not renegotiate may ignore it or answer with a
    // warning no_renegotiation; either way the connection continues under the current keys.
    ++hello_requests_;
    if (options_.hello_request == HelloRequestPolicy::kDecline && !close_sent_) {
      const std::array<std::uint8_t, 2> alert = {kLevelWarning, kNoRenegotiation};
      if (!seal(kTypeAlert, alert)) return false;
    }
  }
  return true;
}

Status RecordLayer::write(std::span<const std::uint8_t> plaintext) {
  if (failed_) return make_error(std::errc::connection_aborted, "tls12 write: " + failure_.reason);
  if (close_sent_) return make_error(std::errc::broken_pipe, "tls12 write after close_notify");
  const std::size_t records = (plaintext.size() + kMaxPlaintext - 1) / kMaxPlaintext;
  out_.reserve(out_.size() + plaintext.size() +
               records * (kHeaderLen + RecordAead::body_len(suite_, 0)));
  while (!plaintext.empty()) {
    const std::size_t n = std::min(plaintext.size(), kMaxPlaintext);
    if (!seal(kTypeApplicationData, plaintext.first(n))) {
      return make_error(std::errc::protocol_error, "tls12 write: " + failure_.reason);
    }
    plaintext = plaintext.subspan(n);
  }
  return {};
}

void RecordLayer::shutdown() {
  if (close_sent_ || failed_) return;
  const std::array<std::uint8_t, 2> alert = {kLevelWarning, tls13::kCloseNotify};
  if (seal(kTypeAlert, alert)) close_sent_ = true;
}

bool RecordLayer::seal(std::uint8_t type, std::span<const std::uint8_t> content) {
  // TLS 1.2 has no KeyUpdate: a wrapped seq would reuse nonces, so the connection ends instead.
  if (write_.seq == UINT64_MAX) {
    fail(tls13::kInternalError, "write sequence number exhausted");
    return false;
  }
  const std::size_t body_len = RecordAead::body_len(suite_, content.size());
  const std::size_t at = out_.size();
  out_.resize(at + kHeaderLen + body_len);
  out_[at] = type;
  out_[at + 1] = 0x03;
  out_[at + 2] = 0x03;
  out_[at + 3] = static_cast<std::uint8_t>(body_len >> 8);
  out_[at + 4] = static_cast<std::uint8_t>(body_len);
  const std::span<std::uint8_t> body = std::span(out_).subspan(at + kHeaderLen, body_len);
  if (!write_.aead.seal(suite_, write_.keys, write_.seq, type, content, body)) {
    out_.resize(at);
    fail(tls13::kInternalError, "record encryption failed");
    return false;
  }
  ++write_.seq;
  return true;
}

RecordLayer::Progress RecordLayer::fail(int alert, const std::string& why) {
  if (failed_) return Progress::kFailed;
  // Set first: sealing the alert can fail in turn (seq exhausted) and must not recurse.
  failed_ = true;
  bool sent = false;
  if (!close_sent_) {
    const std::array<std::uint8_t, 2> record = {kLevelFatal, static_cast<std::uint8_t>(alert)};
    sent = seal(kTypeAlert, record);
  }
  failure_ = {Failure::Kind::kAlertSent, alert,
              "alert " + alert_name(alert) + (sent ? " sent" : " not sent") +
                  (why.empty() ? "" : " (" + why + ")")};
  buffers_.drop_pending();
  handshake_got_ = 0;
  return Progress::kFailed;
}

void RecordLayer::release_buffers() {
  buffers_.release();
  if (out_.empty()) std::vector<std::uint8_t>().swap(out_);
  read_.aead.release();
  write_.aead.release();
}

std::size_t RecordLayer::buffer_capacity() const {
  return buffers_.capacity() + out_.capacity();
}

}  // namespace wb::tls12
