#include "agent/tls13/record_layer.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>

#include "agent/tls13/alerts.h"
#include "agent/tls13/record_boundaries.h"

namespace wb::tls13 {
namespace {

constexpr std::uint8_t kTypeAlert = 21;
constexpr std::uint8_t kTypeHandshake = 22;
constexpr std::uint8_t kTypeApplicationData = 23;
constexpr std::size_t kMaxPlaintext = std::size_t{1} << 14;
constexpr std::size_t kMaxCiphertext = RecordBoundaries::kMaxRecordLength;

std::array<std::uint8_t, kHeaderLen> header_for(std::size_t body_len) {
  return {kTypeApplicationData, 0x03, 0x03, static_cast<std::uint8_t>(body_len >> 8),
          static_cast<std::uint8_t>(body_len)};
}

}  // namespace

RecordLayer::RecordLayer(Handoff& handoff, RecordLayerOptions options)
    : suite_(handoff.suite),
      is_client_(handoff.is_client),
      key_update_after_(std::max<std::uint64_t>(options.key_update_after, 1)) {
  read_.secret = std::move(handoff.read_secret);
  read_.seq = handoff.read_seq;
  write_.secret = std::move(handoff.write_secret);
  write_.seq = handoff.write_seq;
}

RecordLayer::~RecordLayer() {
  // Secrets and keys cleanse themselves, and so does buffers_; the split message is cleansed here.
  if (!handshake_.empty()) OPENSSL_cleanse(handshake_.data(), handshake_.size());
}

Result<std::unique_ptr<RecordLayer>> RecordLayer::create(Handoff handoff,
                                                         RecordLayerOptions options) {
  const std::size_t hash_len = params(handoff.suite).hash_len;
  if (handoff.read_secret.size() != hash_len || handoff.write_secret.size() != hash_len) {
    return make_error(std::errc::invalid_argument,
                      "tls13 handoff: secret length does not match the suite");
  }
  std::unique_ptr<RecordLayer> rl(new RecordLayer(handoff, options));
  WB_TRY(derive_traffic_keys(rl->suite_, rl->read_.secret, rl->read_.keys));
  WB_TRY(derive_traffic_keys(rl->suite_, rl->write_.secret, rl->write_.keys));
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
  return read_records(buffers_, out, got, failed_, close_received_,
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
    const std::size_t length = (std::size_t{avail[3]} << 8) | avail[4];
    if (avail[0] != kTypeApplicationData) {
      // RFC 8446 5: after the handshake even change_cipher_spec is unexpected_message.
      return fail(kUnexpectedMessage, "record type " + std::to_string(avail[0]));
    }
    if (length > kMaxCiphertext) return fail(kRecordOverflow);
    if (avail.size() >= kHeaderLen + length) {
      std::array<std::uint8_t, kHeaderLen> header{};
      std::copy_n(avail.begin(), kHeaderLen, header.begin());
      const std::span<std::uint8_t> body = avail.subspan(kHeaderLen, length);
      buffers_.consume_input(kHeaderLen + length);
      if (length < kTagLen) return fail(kBadRecordMac);
      if (read_.seq == UINT64_MAX) return fail(kInternalError, "read sequence number exhausted");
      const std::size_t inner_len = length - kTagLen;
      // Into the caller's buffer when the whole inner plaintext fits (no copy); else into
      // the pending buffer, at most one record.
      std::span<std::uint8_t> dest;
      if (out.size() >= inner_len) {
        dest = out.first(inner_len);
      } else {
        dest = buffers_.pending_for(inner_len);
      }
      if (!read_.aead.open(suite_, read_.keys, read_.seq, header, body, dest)) {
        buffers_.drop_pending();
        return fail(kBadRecordMac);
      }
      ++read_.seq;
      // TLSInnerPlaintext: content || type || zeros; the type is the last non-zero byte.
      std::size_t end = inner_len;
      while (end > 0 && dest[end - 1] == 0) --end;
      if (end == 0) return fail(kUnexpectedMessage, "all-zero inner plaintext");  // all zeros
      const std::uint8_t type = dest[end - 1];
      const std::span<std::uint8_t> content = dest.first(end - 1);
      // Rejected records leave no plaintext behind, in the caller's buffer either.
      const auto reject = [&](int alert, const char* why) {
        OPENSSL_cleanse(dest.data(), dest.size());
        return fail(alert, why);
      };
      if (content.size() > kMaxPlaintext) return reject(kRecordOverflow, "plaintext over 2^14");
      // RFC 8446 5.1: handshake messages must not be interleaved with other record types.
      if (type != kTypeHandshake && !handshake_.empty()) {
        return reject(kUnexpectedMessage, "record interleaved with a split handshake message");
      }
      if (type == kTypeApplicationData) {
        if (buffers_.is_pending(dest)) {
          buffers_.truncate_pending(content.size());
          if (buffers_.pending_empty()) {
            again = true;
            return Progress::kWantMore;
          }
          got = buffers_.take_pending(out);
          return Progress::kDone;
        }
        got = content.size();
        again = got == 0;  // zero-length application data is legal and yields nothing
        return got > 0 ? Progress::kDone : Progress::kWantMore;
      }
      bool ok = false;
      if (type == kTypeHandshake) {
        ok = handle_handshake(content);
      } else if (type == kTypeAlert) {
        ok = handle_alert(content);
      } else {
        fail(kUnexpectedMessage, "inner content type " + std::to_string(type));
      }
      OPENSSL_cleanse(dest.data(), dest.size());
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
  // RFC 8446 6: exactly one alert (level, description) per record.
  if (content.size() != 2) {
    fail(kDecodeError, "alert record of " + std::to_string(content.size()) + " bytes");
    return false;
  }
  const int description = content[1];
  if (description == kCloseNotify) {
    close_received_ = true;
    return true;
  }
  if (description == kUserCanceled) return true;  // a close_notify is expected to follow
  failed_ = true;
  failure_ = {Failure::Kind::kAlertReceived, description,
              "alert " + alert_name(description) + " received"};
  buffers_.drop_pending();
  return false;
}

Status RecordLayer::write(std::span<const std::uint8_t> plaintext) {
  if (failed_) return make_error(std::errc::connection_aborted, "tls13 write: " + failure_.reason);
  if (close_sent_) return make_error(std::errc::broken_pipe, "tls13 write after close_notify");
  const std::size_t records = (plaintext.size() + kMaxPlaintext - 1) / kMaxPlaintext;
  out_.reserve(out_.size() + plaintext.size() + records * (kHeaderLen + 1 + kTagLen));
  while (!plaintext.empty()) {
    const std::size_t n = std::min(plaintext.size(), kMaxPlaintext);
    if (!seal(kTypeApplicationData, plaintext.first(n))) {
      return make_error(std::errc::protocol_error, "tls13 write: " + failure_.reason);
    }
    plaintext = plaintext.subspan(n);
  }
  return {};
}

void RecordLayer::shutdown() {
  if (close_sent_ || failed_) return;
  const std::array<std::uint8_t, 2> alert = {1, kCloseNotify};  // warning, close_notify
  if (seal(kTypeAlert, alert)) close_sent_ = true;
}

bool RecordLayer::seal(std::uint8_t type, std::span<const std::uint8_t> content) {
  if (type != kTypeHandshake && write_.seq >= key_update_after_) {
    if (!send_key_update(false)) return false;
  }
  if (write_.seq == UINT64_MAX) {
    fail(kInternalError, "write sequence number exhausted");
    return false;
  }
  const std::size_t body_len = content.size() + 1 + kTagLen;
  const auto header = header_for(body_len);
  const std::size_t at = out_.size();
  out_.resize(at + kHeaderLen + body_len);
  std::copy(header.begin(), header.end(), out_.begin() + static_cast<std::ptrdiff_t>(at));
  const std::span<std::uint8_t> body = std::span(out_).subspan(at + kHeaderLen, body_len);
  if (!write_.aead.seal(suite_, write_.keys, write_.seq, header, content, type, body)) {
    out_.resize(at);
    fail(kInternalError, "record encryption failed");
    return false;
  }
  ++write_.seq;
  return true;
}

bool RecordLayer::send_key_update(bool request_update) {
  // HandshakeType key_update(24), uint24 length 1, KeyUpdateRequest.
  const std::array<std::uint8_t, 5> msg = {24, 0, 0, 1,
                                           request_update ? std::uint8_t{1} : std::uint8_t{0}};
  if (!seal(kTypeHandshake, msg)) return false;
  return update_key(write_);
}

bool RecordLayer::update_key(Direction& d) {
  auto next = next_traffic_secret(suite_, d.secret);
  if (!next.ok() || !derive_traffic_keys(suite_, *next, d.keys).ok()) {
    fail(kInternalError, "key update derivation failed");
    return false;
  }
  d.secret = std::move(*next);
  d.seq = 0;
  d.aead.rekey();
  ++key_updates_;
  return true;
}

RecordLayer::Progress RecordLayer::fail(int alert, const std::string& why) {
  if (failed_) return Progress::kFailed;
  // Set first: sealing the alert can fail in turn (sequence number exhausted) and must not
  // recurse back here.
  failed_ = true;
  // The alert goes out under the current write key, unless close_notify already ended our side.
  bool sent = false;
  if (!close_sent_) {
    const std::array<std::uint8_t, 2> record = {2, static_cast<std::uint8_t>(alert)};  // fatal
    sent = seal(kTypeAlert, record);
  }
  failure_ = {Failure::Kind::kAlertSent, alert,
              "alert " + alert_name(alert) + (sent ? " sent" : " not sent") +
                  (why.empty() ? "" : " (" + why + ")")};
  buffers_.drop_pending();
  if (!handshake_.empty()) OPENSSL_cleanse(handshake_.data(), handshake_.size());
  handshake_.clear();
  return Progress::kFailed;
}

void RecordLayer::release_buffers() {
  buffers_.release();
  if (out_.empty()) std::vector<std::uint8_t>().swap(out_);
  if (handshake_.empty()) std::vector<std::uint8_t>().swap(handshake_);
  read_.aead.release();
  write_.aead.release();
}

std::size_t RecordLayer::buffer_capacity() const {
  return buffers_.capacity() + out_.capacity() + handshake_.capacity();
}

}  // namespace wb::tls13
