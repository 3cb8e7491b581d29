// What handing an OpenSSL connection over to wirebump's own record layer needs, gathered while
// OpenSSL runs it (TLS 1.3: agent/tls13/record_layer.h; TLS 1.2 AEAD suites:
// agent/tls12/record_layer.h):
// - TLS 1.3: the two application traffic secrets (from the key-log callback, OpenSSL 3.0's only
//   way to them), and a KeyUpdate seen either way (then those secrets are stale and the
//   connection is never handed over);
// - TLS 1.2: nothing secret here (the master secret and randoms are read from the SSL at the
//   hand-off), and a second Finished either way (a renegotiation: never handed over);
// - both: the number of records each direction carried under its current keys (from the message
//   callback's record headers), and whether the ciphertext fed so far ends at a record boundary
//   (OpenSSL reports a header as soon as it parsed it; a half-read record would be lost).
//
// Why bother: an idle intercepted session otherwise keeps ~31 KiB of OpenSSL state per session
// (two SSL objects, their cipher contexts, sessions and key shares) that no public API releases.
// Handed over, a leg keeps its keys, IVs and sequence numbers: a few hundred bytes.
//
// Record numbering restarts at 0 with each direction's new keys. TLS 1.3: the record carrying a
// side's Finished is the last one under its handshake keys, so the count at that message is the
// base of the application epoch in that direction (this also covers a server that sends tickets
// before its handshake returns, which are application records). TLS 1.2: a side's Finished is the
// first record under its new keys (record 0, alone in its record), so the count at that message
// minus one is the base. (Counting from the ChangeCipherSpec would do too, but OpenSSL 3.0 reports
// only the one it writes to the message callback, not the one it reads.)
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "agent/tls13/record_boundaries.h"
#include "agent/tls13/record_protection.h"
#include "agent/tls13/suite.h"

namespace wb::intercept {

// Kept with a context (keep_with_ctx) whose endpoints track hand-offs
// (TlsContextOptions::compact_idle): each endpoint made on it gets a tracker from its first byte.
struct CompactIdle {};

class HandoffTracker {
 public:
  // From OpenSSL's key-log callback: keeps CLIENT_/SERVER_TRAFFIC_SECRET_0, ignores the rest.
  void note_keylog_line(std::string_view line);
  // From OpenSSL's message callback (SSL_CTX_set_msg_callback), for every call.
  void note_message(bool written, int content_type, const void* buf, std::size_t len);
  // Every ciphertext byte fed to the SSL, in order.
  void note_fed(std::span<const std::uint8_t> ciphertext) { fed_.consume(ciphertext); }

  // The record layer that takes the connection over, when `ssl` can be handed over: TLS 1.3
  // (any suite) or TLS 1.2 with an AEAD suite, its handshake done, no KeyUpdate or renegotiation
  // seen, nothing buffered or half-read inside OpenSSL, no close_notify either way. The caller
  // must also know that every byte it fed was consumed and every byte OpenSSL wrote was taken.
  // Null (with the reason in `why`) otherwise.
  std::unique_ptr<tls13::RecordProtection> hand_over(const SSL* ssl, bool is_client,
                                                     std::string_view& why);

 private:
  struct Direction {
    std::uint64_t records = 0;       // record headers seen in this direction
    std::uint64_t finished_at = 0;   // records up to the one carrying this side's Finished
    std::uint8_t finished_seen = 0;  // Finished messages (one, unless renegotiated)
  };
  std::unique_ptr<tls13::RecordProtection> hand_over_tls13(const SSL* ssl, bool is_client,
                                                           std::string_view& why);
  std::unique_ptr<tls13::RecordProtection> hand_over_tls12(const SSL* ssl, bool is_client,
                                                           std::string_view& why);

  std::optional<tls13::Secret> client_secret_;
  std::optional<tls13::Secret> server_secret_;
  Direction read_;
  Direction written_;
  tls13::RecordBoundaries fed_;
  bool keys_changed_ = false;  // a KeyUpdate either way
};

}  // namespace wb::intercept
