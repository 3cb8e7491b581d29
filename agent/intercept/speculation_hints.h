// What the last interception of a server looked like, so the next connection to it can answer
// the client at once ("speculative handshake") instead of after the upstream handshake.
//
// Without it the two handshakes run one after the other: the client leg can only start once the
// upstream handshake has shown the server's certificate (the forged one mirrors it, and the
// verification result picks the issuer). With a hint for the same destination, SNI, ALPN list
// and client key types, the client leg starts at once with the certificate forged last time
// while the upstream handshake runs beside it; the client's decrypted bytes are held until the
// upstream handshake has completed AND verified with the ALPN promised to the client. An upstream
// that fails, does not verify or picks another ALPN resets the client without a byte from the
// server and drops the hint (the next connection takes the sequential path, where an unverified
// server gets the untrusted issuer and a failure is tunnelled). So an invalid upstream is never
// presented as a trusted one. Hints are only made from interceptions whose upstream verified and
// whose client accepted the forged certificate, and live `ttl` at most.
// Thread-safe (all workers share it); bounded LRU.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/lru_map.h"
#include "certs/cert_cache.h"
#include "certs/key_pool.h"

namespace wb::intercept {

struct SpeculationHint {
  std::shared_ptr<const certs::ForgedCert> forged;  // trusted issuer only
  std::array<std::uint8_t, 32> upstream_leaf_sha256{};
  std::string server_alpn;  // what the client leg selects ("" = none)
};

class SpeculationHints {
 public:
  using Clock = std::chrono::steady_clock;
  SpeculationHints(std::size_t capacity, std::chrono::seconds ttl);

  // Everything the speculative client leg depends on: the destination ("address:port"), the
  // SNI, the client's ALPN list (the server's choice among them is promised to the client) and
  // the key types the client accepts (they chose the forged key).
  static std::string key(std::string_view destination, std::string_view sni,
                         std::span<const std::string> alpn, certs::KeyTypes client_accepts);

  std::optional<SpeculationHint> find(const std::string& key, Clock::time_point now);
  void put(const std::string& key, SpeculationHint hint, Clock::time_point now);
  void drop(const std::string& key);
  std::size_t size() const;

 private:
  struct Entry {
    SpeculationHint hint;
    Clock::time_point expires;
  };
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  LruMap<std::string, Entry> entries_;
};

}  // namespace wb::intercept
