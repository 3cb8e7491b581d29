// Bounded LRU of forged certificates keyed by (server certificate SHA-256, key type, issuer).
// Thread-safe; a hit costs one hash lookup and a list splice under a mutex.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "certs/key_pool.h"
#include "certs/keyring.h"
#include "certs/ossl.h"

namespace wb::certs {

struct ForgedCert {
  X509Ptr cert;       // the forged leaf
  EvpPkeyPtr key;     // its private key (shared with other forged certs of the pool)
  X509* issuer_cert;  // the chain to send after the leaf (owned by the Keyring)
  IssuerRole issuer;
  KeyType key_type;
  std::string serial;  // canonical hex
  std::int64_t not_after;
};

struct CacheKey {
  std::array<std::uint8_t, 32> server_sha256;
  KeyType key_type;
  IssuerRole issuer;
  bool operator==(const CacheKey&) const = default;
};

struct CacheStats {
  std::uint64_t hits = 0, misses = 0, evictions = 0, inserts = 0;
  std::size_t size = 0, capacity = 0;
};

class CertCache {
 public:
  explicit CertCache(std::size_t capacity);
  // Counts a hit (and moves the entry to the front) or a miss. Entries past their notAfter are
  // dropped and count as a miss.
  std::shared_ptr<const ForgedCert> find(const CacheKey& key, std::int64_t now);
  // The same without counting (a second look by a queued forge after its counted miss).
  std::shared_ptr<const ForgedCert> peek(const CacheKey& key, std::int64_t now);
  // Inserts or replaces; evicts the least recently used entry beyond capacity.
  void insert(const CacheKey& key, std::shared_ptr<const ForgedCert> cert);
  CacheStats stats() const;

 private:
  std::shared_ptr<const ForgedCert> find_locked(const CacheKey& key, std::int64_t now, bool count);
  struct KeyHash {
    std::size_t operator()(const CacheKey& k) const;
  };
  using Entry = std::pair<CacheKey, std::shared_ptr<const ForgedCert>>;

  std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<CacheKey, std::list<Entry>::iterator, KeyHash> index_;
  CacheStats stats_;
};

}  // namespace wb::certs
