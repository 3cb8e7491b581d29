#include "agent/intercept/upstream_sessions.h"

#include "agent/intercept/tls_endpoint.h"

namespace wb::intercept {

namespace {

// OpenSSL's new-session callback: 1 = we took the reference, 0 = OpenSSL frees it.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* sessions = kept_with_ctx<UpstreamSessions>(SSL_get_SSL_CTX(ssl));
  const auto* endpoint = TlsEndpoint::from(ssl);
  if (sessions == nullptr || endpoint == nullptr || endpoint->session_key().empty()) return 0;
  sessions->put(endpoint->session_key(), session);
  return 0;  // put() took its own reference
}

}  // namespace

UpstreamSessions::UpstreamSessions(std::size_t capacity) : sessions_(capacity) {}

UpstreamSessions::~UpstreamSessions() {
  sessions_.for_each([](const std::string&, SSL_SESSION* session) { SSL_SESSION_free(session); });
}

std::string UpstreamSessions::key(const std::string& sni, const std::string& destination) {
  return sni + "|" + destination;
}

void UpstreamSessions::put(const std::string& key, SSL_SESSION* offered) {
  if (offered == nullptr || SSL_SESSION_is_resumable(offered) != 1) return;
  // A copy: OpenSSL marks the connection's own session object not resumable when that
  // connection is freed without a close_notify (as when a client leaves and the bridge drops
  // the upstream); a shared object would then be useless for every later connection.
  SSL_SESSION* session = SSL_SESSION_dup(offered);
  if (session == nullptr) return;
  std::optional<SSL_SESSION*> gone;  // the one replaced, or the least recently used evicted
  {
    std::lock_guard lock(mu_);
    gone = sessions_.put(key, session);
  }
  // Freed outside the lock (SSL_SESSION_free may take OpenSSL's own locks).
  if (gone) SSL_SESSION_free(*gone);
}

SSL_SESSION* UpstreamSessions::get(const std::string& key) {
  std::lock_guard lock(mu_);
  SSL_SESSION** found = sessions_.find(key);
  if (found == nullptr || SSL_SESSION_is_resumable(*found) != 1) return nullptr;
  SSL_SESSION_up_ref(*found);
  return *found;
}

std::size_t UpstreamSessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

bool UpstreamSessions::attach(SSL_CTX* ctx, std::shared_ptr<UpstreamSessions> sessions) {
  if (!keep_with_ctx(ctx, std::move(sessions))) return false;
  // Client-side caching through the callback only: OpenSSL's internal store is server-side.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &on_new_session);
  return true;
}

}  // namespace wb::intercept
