#include "agent/intercept/upstream_sessions.h"

#include "agent/intercept/tls_endpoint.h"

namespace wb::intercept {

namespace {

int sessions_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr,
                               [](void* /*parent*/, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
                                 delete static_cast<std::shared_ptr<UpstreamSessions>*>(ptr);
                               });
  return index;
}

// OpenSSL's new-session callback: 1 = we took the reference, 0 = OpenSSL frees it.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* holder = static_cast<std::shared_ptr<UpstreamSessions>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sessions_index()));
  const auto* endpoint = TlsEndpoint::from(ssl);
  if (holder == nullptr || endpoint == nullptr || endpoint->session_key().empty()) return 0;
  (*holder)->put(endpoint->session_key(), session);
  return 0;  // put() took its own reference
}

}  // namespace

UpstreamSessions::UpstreamSessions(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity) {}

UpstreamSessions::~UpstreamSessions() {
  for (auto& [key, session] : lru_) SSL_SESSION_free(session);
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
  SSL_SESSION* old = nullptr;
  SSL_SESSION* evicted = nullptr;
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      old = it->second->second;
      it->second->second = session;
      lru_.splice(lru_.begin(), lru_, it->second);
    } else {
      lru_.emplace_front(key, session);
      index_.emplace(key, lru_.begin());
      if (lru_.size() > capacity_) {
        evicted = lru_.back().second;
        index_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
  }
  // Freed outside the lock (SSL_SESSION_free may take OpenSSL's own locks).
  if (old != nullptr) SSL_SESSION_free(old);
  if (evicted != nullptr) SSL_SESSION_free(evicted);
}

SSL_SESSION* UpstreamSessions::get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  SSL_SESSION* session = it->second->second;
  if (SSL_SESSION_is_resumable(session) != 1) return nullptr;
  SSL_SESSION_up_ref(session);
  return session;
}

std::size_t UpstreamSessions::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

bool UpstreamSessions::attach(SSL_CTX* ctx, std::shared_ptr<UpstreamSessions> sessions) {
  auto* holder = new std::shared_ptr<UpstreamSessions>(std::move(sessions));
  if (SSL_CTX_set_ex_data(ctx, sessions_index(), holder) != 1) {
    delete holder;
    return false;
  }
  // Client-side caching through the callback only: OpenSSL's internal store is server-side.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &on_new_session);
  return true;
}

}  // namespace wb::intercept
