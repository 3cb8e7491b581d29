// Destinations where interception failed (client pins, server wants a client certificate,
// upstream handshake error), remembered for a while so the next connections are tunnelled from
// the first byte. Thread-safe (workers look up and learn concurrently) and bounded: when full,
// the entry closest to expiry makes room.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "agent/policy/address.h"

namespace wb::policy {

using Clock = std::chrono::system_clock;  // wall clock: expiries are shown to operators

enum class LearnReason : std::uint8_t {
  kClientRejectedCertificate,   // alert unknown_ca/bad_certificate or close during the handshake
  kClientClosedAfterHandshake,  // pinning clients close right after the handshake
  kClientCertificateRequested,  // the server asked for a client certificate
  kUpstreamHandshakeFailed,     // protocol error or alert from the server
  kDetectionOff,                // the protocol found inside has detection switched off
};

// snake_case names, as the control protocol and `wirebump tunnels list` show them:
// "client_rejected_certificate", "client_closed_after_handshake", ...
std::string_view to_string(LearnReason reason);

struct LearnedKey {
  std::string sni;  // lower case; empty when the client sent none
  Destination destination;
  auto operator<=>(const LearnedKey&) const = default;
};

struct LearnedTunnel {
  LearnedKey key;
  LearnReason reason{};
  std::string detail;  // e.g. "alert unknown_ca", "detection off: sips"
  Clock::time_point learned;
  Clock::time_point expires;
  std::uint64_t hits = 0;  // connections tunnelled because of this entry
};

class LearnedTunnels {
 public:
  explicit LearnedTunnels(std::chrono::seconds ttl = std::chrono::hours(1),
                          std::size_t capacity = 16384);

  // Adds or refreshes (new reason, new expiry) an entry.
  void learn(const LearnedKey& key, LearnReason reason, std::string detail, Clock::time_point now);
  // The live entry for key (counting a hit), or nothing. Drops it if expired.
  std::optional<LearnedTunnel> lookup(const LearnedKey& key, Clock::time_point now);
  // Live entries, soonest expiry first.
  std::vector<LearnedTunnel> list(Clock::time_point now);
  // Removes everything (returns how many) / only entries learned for one reason.
  std::size_t flush();
  std::size_t flush_if(LearnReason reason, std::string_view detail);

  void set_ttl(std::chrono::seconds ttl);
  void set_capacity(std::size_t capacity);
  std::chrono::seconds ttl() const;
  std::size_t size() const;
  std::uint64_t evictions() const;

 private:
  void expire_locked(Clock::time_point now);

  mutable std::mutex mu_;
  std::map<LearnedKey, LearnedTunnel> entries_;
  std::chrono::seconds ttl_;
  std::size_t capacity_;
  std::uint64_t evictions_ = 0;
};

// The key for a connection: SNI normalised to lower case without a trailing dot.
LearnedKey make_learned_key(std::string_view sni, const Destination& destination);

}  // namespace wb::policy
