// Results of upstream certificate verification, kept per (certificate chain, verified name).
//
// Every intercepted connection verifies the server's chain against the trust store, and a chain
// build plus its signature checks are about a tenth of the agent's CPU per connection
// (docs/benchmarks/compare.md). A server shows the same chain to every connection, so a success
// is kept: the key is the SHA-256 of every certificate the server sent, in order, and the host
// name (or IP address) it was verified for; the trust store and the verification flags are fixed
// for the life of the process. A kept success lives `ttl` at most and never past the earliest
// notAfter of the chain it was built from. Failures are never kept (each one is verified again,
// so its error code is always the real one). Upstream revocation is not checked by wirebump, with
// or without the cache.
//
// Installed as the upstream SSL_CTX's certificate verification callback, in place of OpenSSL's
// X509_verify_cert, which still runs on every miss. Thread-safe (all workers share the context);
// bounded LRU.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "agent/common/lru_map.h"

namespace wb::intercept {

class VerifyCache {
 public:
  VerifyCache(std::size_t capacity, std::chrono::seconds ttl);

  // Wires the cache into an upstream (client-side) SSL_CTX.
  static bool attach(SSL_CTX* ctx, std::shared_ptr<VerifyCache> cache);

  // The verification OpenSSL asks for: a kept success, or X509_verify_cert (kept on success).
  // `now` is the wall clock in seconds since the epoch (certificates expire by it).
  int verify(X509_STORE_CTX* ctx, std::int64_t now);

  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::size_t size() const;

 private:
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  LruMap<std::string, std::int64_t> ok_until_;  // key -> epoch seconds it stays valid
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace wb::intercept
