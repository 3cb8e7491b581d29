#include "agent/intercept/handoff_tracker.h"

#include <utility>

namespace wb::intercept {

namespace {
constexpr int kFinished = 20;   // HandshakeType finished
constexpr int kKeyUpdate = 24;  // HandshakeType key_update
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
  if (content_type == SSL3_RT_HEADER) {
    ++dir.records;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0 || buf == nullptr) return;
  const int type = *static_cast<const unsigned char*>(buf);
  if (type == kKeyUpdate) {
    keys_changed_ = true;
  } else if (type == kFinished && !dir.finished) {
    // The record carrying it was counted already (its header came first, on either side).
    dir.finished = true;
    dir.base = dir.records;
  }
}

std::optional<tls13::Handoff> HandoffTracker::take(const SSL* ssl, bool is_client,
                                                   std::string_view& why) {
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    why = "not TLS 1.3";
    return std::nullopt;
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const auto suite =
      cipher == nullptr ? std::nullopt : tls13::suite_from_id(SSL_CIPHER_get_protocol_id(cipher));
  if (!suite) {
    why = "cipher suite not supported";
    return std::nullopt;
  }
  if (!client_secret_ || !server_secret_ || !read_.finished || !written_.finished) {
    why = "handshake secrets not seen";
    return std::nullopt;
  }
  if (keys_changed_ || SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE) {
    why = "keys updated";
    return std::nullopt;
  }
  if (SSL_get_shutdown(ssl) != 0) {
    why = "closing";
    return std::nullopt;
  }
  // A record read but not yet handed out, or half-read: its number is counted, its bytes are
  // OpenSSL's. Leave such a connection to OpenSSL.
  if (SSL_has_pending(ssl) != 0) {
    why = "OpenSSL holds unread bytes";
    return std::nullopt;
  }
  tls13::Handoff h;
  h.suite = *suite;
  h.is_client = is_client;
  h.read_secret = is_client ? *server_secret_ : *client_secret_;
  h.read_seq = read_.records - read_.base;
  h.write_secret = is_client ? *client_secret_ : *server_secret_;
  h.write_seq = written_.records - written_.base;
  return h;
}

}  // namespace wb::intercept
