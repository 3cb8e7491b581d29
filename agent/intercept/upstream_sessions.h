// TLS sessions of the upstream leg, kept for resumption: the next connection to the same server
// (same SNI, address and port) resumes instead of doing a full handshake, which spares the
// bridge's loop thread the certificate chain verification and the server's signature check (and
// the server its signature). A resumed session carries the original handshake's peer certificate
// and verification result, so the forged certificate and its issuer are chosen as before.
// Thread-safe (all workers share the upstream SSL_CTX); bounded LRU.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "agent/common/lru_map.h"

namespace wb::intercept {

class UpstreamSessions {
 public:
  explicit UpstreamSessions(std::size_t capacity);
  ~UpstreamSessions();
  UpstreamSessions(const UpstreamSessions&) = delete;
  UpstreamSessions& operator=(const UpstreamSessions&) = delete;

  // "sni|address:port": a session is only ever offered to the server it came from.
  static std::string key(const std::string& sni, const std::string& destination);

  // Stores a copy of `session` under `key`, replacing an older one; evicts the least recently
  // used beyond capacity. Sessions that cannot be resumed are ignored.
  void put(const std::string& key, SSL_SESSION* session);
  // A new reference to the session for `key` (the caller frees it), or nullptr.
  SSL_SESSION* get(const std::string& key);
  std::size_t size() const;

  // Wires the cache into an upstream (client-side) SSL_CTX: OpenSSL hands every new session
  // (TLS 1.2 at the end of the handshake, TLS 1.3 tickets later) to put() under the key the
  // endpoint was configured with (TlsEndpoint::session_key).
  static bool attach(SSL_CTX* ctx, std::shared_ptr<UpstreamSessions> sessions);

 private:
  mutable std::mutex mu_;
  LruMap<std::string, SSL_SESSION*> sessions_;  // each holds one reference
};

}  // namespace wb::intercept
