#include "certs/cert_cache.h"

#include <cstring>

namespace wb::certs {

CertCache::CertCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  stats_.capacity = capacity_;
}

std::size_t CertCache::KeyHash::operator()(const CacheKey& k) const {
  // The fingerprint is already uniformly random: its first 8 bytes are a fine hash.
  std::size_t h = 0;
  std::memcpy(&h, k.server_sha256.data(), sizeof(h));
  return h ^ (static_cast<std::size_t>(k.key_type) << 1) ^ static_cast<std::size_t>(k.issuer);
}

std::shared_ptr<const ForgedCert> CertCache::find(const CacheKey& key, std::int64_t now) {
  std::lock_guard lock(mu_);
  return find_locked(key, now, true);
}

std::shared_ptr<const ForgedCert> CertCache::peek(const CacheKey& key, std::int64_t now) {
  std::lock_guard lock(mu_);
  return find_locked(key, now, false);
}

std::shared_ptr<const ForgedCert> CertCache::find_locked(const CacheKey& key, std::int64_t now,
                                                         bool count) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (count) ++stats_.misses;
    return nullptr;
  }
  if (it->second->second->not_after < now) {  // never hand out an expired forgery
    lru_.erase(it->second);
    index_.erase(it);
    if (count) ++stats_.misses;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  if (count) ++stats_.hits;
  return it->second->second;
}

void CertCache::insert(const CacheKey& key, std::shared_ptr<const ForgedCert> cert) {
  std::lock_guard lock(mu_);
  ++stats_.inserts;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->second = std::move(cert);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, std::move(cert));
  index_.emplace(key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
    ++stats_.evictions;
  }
}

CacheStats CertCache::stats() const {
  std::lock_guard lock(mu_);
  CacheStats s = stats_;
  s.size = lru_.size();
  return s;
}

}  // namespace wb::certs
