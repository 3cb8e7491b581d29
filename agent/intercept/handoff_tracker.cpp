#include "agent/intercept/handoff_tracker.h"

#include <openssl/crypto.h>

#include <utility>

#include "agent/tls12/record_layer.h"
#include "agent/tls13/record_layer.h"

namespace wb::intercept {

namespace {
constexpr int kFinished = 20;   // HandshakeType finished
constexpr int kKeyUpdate = 24;  // HandshakeType key_update

// Saturating: a count of 255 already means "more than one".
void bump(std::uint8_t& n) {
  if (n < 255) ++n;
}
}  // namespace

void HandoffTracker::note_keylog_line(std::string_view line) {
  auto parsed = tls13::parse_traffic_secret_line(line);
  if (!parsed) return;
  auto& slot = parsed->label == tls13::TrafficSecretLine::Label::kClientTraffic0 ? client_secret_
                                                                                 : server_secret_;
  slot = std::move(parsed->secret);
}

void HandoffTracker::note_message(bool written, int content_type, const void* buf,
                                  std::size_t len) {
  Direction& dir = written ? written_ : read_;
  // A record's header is reported before the message in it (on either side), so the counts
  // below include the record that carries the message.
  if (content_type == SSL3_RT_HEADER) {
    ++dir.records;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0 || buf == nullptr) return;
  const int type = *static_cast<const unsigned char*>(buf);
  if (type == kKeyUpdate) {
    keys_changed_ = true;
  } else if (type == kFinished) {
    if (dir.finished_seen == 0) dir.finished_at = dir.records;
    bump(dir.finished_seen);
  }
}

std::unique_ptr<tls13::RecordProtection> HandoffTracker::hand_over(const SSL* ssl, bool is_client,
                                                                   std::string_view& why) {
  if (SSL_get_shutdown(ssl) != 0) {
    why = "closing";
    return nullptr;
  }
  // A record read but not yet handed out, or half-read: its number is counted, its bytes are
  // OpenSSL's. Leave such a connection to OpenSSL.
  if (SSL_has_pending(ssl) != 0 || !fed_.at_boundary() || fed_.malformed()) {
    why = "OpenSSL holds unread bytes";
    return nullptr;
  }
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION:
      return hand_over_tls13(ssl, is_client, why);
    case TLS1_2_VERSION:
      return hand_over_tls12(ssl, is_client, why);
    default:
      why = "not TLS 1.2 or 1.3";
      return nullptr;
  }
}

std::unique_ptr<tls13::RecordProtection> HandoffTracker::hand_over_tls13(const SSL* ssl,
                                                                         bool is_client,
                                                                         std::string_view& why) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const auto suite =
      cipher == nullptr ? std::nullopt : tls13::suite_from_id(SSL_CIPHER_get_protocol_id(cipher));
  if (!suite) {
    why = "cipher suite not supported";
    return nullptr;
  }
  if (!client_secret_ || !server_secret_ || read_.finished_seen != 1 ||
      written_.finished_seen != 1) {
    why = "handshake secrets not seen";
    return nullptr;
  }
  if (keys_changed_ || SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE) {
    why = "keys updated";
    return nullptr;
  }
  tls13::Handoff h;
  h.suite = *suite;
  h.is_client = is_client;
  h.read_secret = is_client ? *server_secret_ : *client_secret_;
  h.read_seq = read_.records - read_.finished_at;
  h.write_secret = is_client ? *client_secret_ : *server_secret_;
  h.write_seq = written_.records - written_.finished_at;
  auto layer = tls13::RecordLayer::create(std::move(h));
  if (!layer) {
    why = "record layer setup failed";
    return nullptr;
  }
  return std::move(*layer);
}

std::unique_ptr<tls13::RecordProtection> HandoffTracker::hand_over_tls12(const SSL* ssl,
                                                                         bool is_client,
                                                                         std::string_view& why) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const std::uint16_t id = cipher == nullptr ? 0 : SSL_CIPHER_get_protocol_id(cipher);
  if (!tls12::supported_suite(id)) {
    why = "cipher suite not supported";  // CBC suites stay on OpenSSL
    return nullptr;
  }
  if (read_.finished_seen != 1 || written_.finished_seen != 1 ||
      SSL_renegotiate_pending(ssl) != 0) {
    why = read_.finished_seen > 1 || written_.finished_seen > 1 ? "renegotiated"
                                                                : "handshake not seen";
    return nullptr;
  }
  tls12::Handoff h{};
  h.cipher_suite = id;
  h.is_client = is_client;
  const SSL_SESSION* session = SSL_get_session(ssl);
  if (session == nullptr ||
      SSL_SESSION_get_master_key(session, h.master_secret.data(), h.master_secret.size()) !=
          h.master_secret.size() ||
      SSL_get_client_random(ssl, h.client_random.data(), h.client_random.size()) !=
          h.client_random.size() ||
      SSL_get_server_random(ssl, h.server_random.data(), h.server_random.size()) !=
          h.server_random.size()) {
    OPENSSL_cleanse(h.master_secret.data(), h.master_secret.size());
    why = "session keys not available";
    return nullptr;
  }
  // Each side's Finished is the first record under its new keys (seq 0), alone in its record.
  h.read_seq = read_.records - read_.finished_at + 1;
  h.write_seq = written_.records - written_.finished_at + 1;
  auto layer = tls12::RecordLayer::create(h);  // wipes its copy
  OPENSSL_cleanse(h.master_secret.data(), h.master_secret.size());
  if (!layer) {
    why = "record layer setup failed";
    return nullptr;
  }
  return std::move(*layer);
}

}  // namespace wb::intercept
