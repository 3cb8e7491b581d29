// What handing an OpenSSL TLS 1.3 connection over to wirebump's own record layer
// (agent/tls13/record_layer.h) needs, gathered while OpenSSL runs it: the two application traffic
// secrets (from the key-log callback), the number of records each direction carried under them
// (from the message callback's record headers), and whether a KeyUpdate changed the keys since
// (then the secrets we hold are stale and the connection is never handed over).
//
// Why bother: an idle intercepted session otherwise keeps ~31 KiB of OpenSSL state per session
// (two SSL objects, their cipher contexts, sessions and key shares) that no public API releases.
// Handed over, a leg keeps its keys, IVs and sequence numbers: a few hundred bytes.
//
// Record numbering: TLS 1.3 numbers the records of each direction from 0 at every key change.
// The application keys take over right after each side's Finished, so the record carrying a
// side's Finished is the last one under its handshake keys: the count at that message is the base
// of the application epoch in that direction (this also covers a server that sends tickets before
// its handshake returns, which are application records).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "agent/tls13/record_layer.h"
#include "agent/tls13/suite.h"

namespace wb::intercept {

class HandoffTracker {
 public:
  // From OpenSSL's key-log callback: keeps CLIENT_/SERVER_TRAFFIC_SECRET_0, ignores the rest.
  void note_keylog_line(std::string_view line);
  // From OpenSSL's message callback (SSL_CTX_set_msg_callback), for every call.
  void note_message(bool written, int content_type, const void* buf, std::size_t len);

  // The hand-off, when `ssl` is a TLS 1.3 connection in a state that can be handed over: its
  // handshake done, no KeyUpdate seen, nothing buffered or half-read inside OpenSSL, no
  // close_notify either way. The caller must also know that every byte it fed was consumed and
  // every byte OpenSSL wrote was taken. nullopt (with the reason in `why`) otherwise.
  std::optional<tls13::Handoff> take(const SSL* ssl, bool is_client, std::string_view& why);

 private:
  struct Direction {
    std::uint64_t records = 0;  // record headers seen in this direction
    std::uint64_t base = 0;     // records up to the one carrying this side's Finished
    bool finished = false;      // that Finished went by
  };
  std::optional<tls13::Secret> client_secret_;
  std::optional<tls13::Secret> server_secret_;
  Direction read_;
  Direction written_;
  bool keys_changed_ = false;  // a KeyUpdate either way
};

}  // namespace wb::intercept
