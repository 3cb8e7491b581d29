// Post-handshake messages (RFC 8446 4.6): the only ones a compacted connection accepts are
// KeyUpdate (either role) and NewSessionTicket (client role, discarded: resumption from it
// would need the resumption secret OpenSSL kept). Messages may share a record or span several.
#include <openssl/crypto.h>

#include "agent/tls13/alerts.h"
#include "agent/tls13/record_layer.h"

namespace wb::tls13 {
namespace {

constexpr std::uint8_t kNewSessionTicket = 4;
constexpr std::uint8_t kKeyUpdate = 24;
constexpr std::size_t kMessageHeader = 4;  // HandshakeType, uint24 length
// Largest post-handshake message body we reassemble: the largest legal NewSessionTicket
// (RFC 8446 4.6.1: lifetime 4, age_add 4, nonce 1+255, ticket 2+(2^16-1), extensions
// 2+(2^16-2)). A real one is a few hundred bytes; refusing a legal one would end the connection.
constexpr std::size_t kMaxMessageBody = 4 + 4 + 1 + 255 + 2 + 65535 + 2 + 65534;

}  // namespace

bool RecordLayer::handle_handshake(std::span<const std::uint8_t> content) {
  // RFC 8446 5.1: zero-length fragments of handshake type are forbidden.
  if (content.empty()) {
    fail(kUnexpectedMessage, "empty handshake record");
    return false;
  }
  handshake_.insert(handshake_.end(), content.begin(), content.end());
  std::size_t at = 0;
  bool ok = true;
  while (ok && handshake_.size() - at >= kMessageHeader) {
    const std::uint8_t type = handshake_[at];
    const std::size_t length = (std::size_t{handshake_[at + 1]} << 16) |
                               (std::size_t{handshake_[at + 2]} << 8) | handshake_[at + 3];
    // Judged by its header: nothing but a ticket (client role) or a KeyUpdate is ever buffered.
    if (type != kKeyUpdate && !(type == kNewSessionTicket && is_client_)) {
      fail(kUnexpectedMessage, "post-handshake message type " + std::to_string(type));
      return false;
    }
    if (length > kMaxMessageBody) {
      fail(kIllegalParameter, "handshake message of " + std::to_string(length) + " bytes");
      return false;
    }
    if (handshake_.size() - at - kMessageHeader < length) break;  // continues in the next record
    const std::span<const std::uint8_t> body =
        std::span(handshake_).subspan(at + kMessageHeader, length);
    at += kMessageHeader + length;
    ok = handle_message(type, body, at == handshake_.size());
  }
  if (failed_) return false;
  OPENSSL_cleanse(handshake_.data(), at);
  handshake_.erase(handshake_.begin(), handshake_.begin() + static_cast<std::ptrdiff_t>(at));
  return ok;
}

bool RecordLayer::handle_message(std::uint8_t type, std::span<const std::uint8_t> body,
                                 bool last_in_record) {
  if (type == kKeyUpdate) {
    // RFC 8446 5.1: a KeyUpdate must end its record (the next record is under the new key).
    if (!last_in_record) {
      fail(kUnexpectedMessage, "KeyUpdate not at a record boundary");
      return false;
    }
    if (body.size() != 1) {
      fail(kDecodeError, "KeyUpdate of " + std::to_string(body.size()) + " bytes");
      return false;
    }
    const std::uint8_t request = body[0];
    if (request > 1) {
      fail(kIllegalParameter, "KeyUpdate request " + std::to_string(request));
      return false;
    }
    if (!update_key(read_)) return false;
    // update_requested: answer with our own KeyUpdate(update_not_requested) before any more
    // application data (4.6.3). Queued now; after our close_notify nothing more is sent.
    if (request == 1 && !close_sent_) return send_key_update(false);
    return true;
  }
  if (type == kNewSessionTicket && is_client_) return true;
  fail(kUnexpectedMessage, "post-handshake message type " + std::to_string(type));
  return false;
}

}  // namespace wb::tls13
