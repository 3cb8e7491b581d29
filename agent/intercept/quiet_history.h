// Which destinations' sessions ever go quiet, so that only their sessions pay for compaction's
// tracking.
//
// Compacting a quiet TLS leg (TlsEndpoint::compact) needs the leg's traffic secrets, and OpenSSL
// 3.0 hands those over only as key-log text that it formats byte by byte with sprintf for every
// secret of every handshake: ~6-12 % of the two handshakes' CPU (handshake_floor_bench), paid
// at every connection although only a session that goes quiet (no byte for a second) is ever
// compacted. A burst of short requests to one server never goes quiet. So: a destination whose
// last `busy_streak` intercepted sessions all ended without going quiet gets its next sessions
// without the tracking (they stay on OpenSSL if they go quiet after all); the first session to
// it that goes quiet, tracked or not, brings the tracking back for the sessions after it.
// Unknown destinations are tracked. Thread-safe (all workers share it); bounded LRU.
//
// The price, and why it is off unless configured (`compact_skip_after`): the choice is made at
// the handshake, and only a session going quiet undoes it. When a destination's sessions turn
// from short to long-lived, every session opened before the first of them goes quiet stays on
// OpenSSL (~36 KiB more each while idle). The benchmark lab does exactly that (2,000 short
// connections, then 1,000 idle ones within a second): none of the idle ones was compacted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/common/lru_map.h"

namespace wb::intercept {

class QuietHistory {
 public:
  // busy_streak 0: every session is tracked.
  QuietHistory(std::size_t capacity, std::uint32_t busy_streak);

  // Whether a new session to `destination` (UpstreamSessions::key: SNI + address:port) should
  // track its legs for compaction.
  bool should_track(const std::string& destination);
  // A session to `destination` went quiet (once per session, at its first quiet period).
  void went_quiet(const std::string& destination);
  // An intercepted session to `destination` ended without ever going quiet.
  void ended_busy(const std::string& destination);

  std::size_t size() const;
  std::uint32_t busy_streak() const { return busy_streak_; }

 private:
  const std::uint32_t busy_streak_;
  mutable std::mutex mu_;
  LruMap<std::string, std::uint32_t> streaks_;  // consecutive sessions ended busy
};

}  // namespace wb::intercept
