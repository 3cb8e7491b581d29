// The table of live sessions, shared by every relay worker (writers) and the control socket
// (readers: `wirebump sessions`, `wirebump status`). Bounded: open() refuses beyond max_sessions
// in all, and beyond max_per_client sessions from one client address (so that one client cannot
// take every slot), and counts each kind of refusal. Closing a session writes the one log line per
// session end.
//
// Concurrency: the hot counters (bytes, last activity) are relaxed atomics in the entry that the
// owning worker bumps without a lock; everything else (insert, erase, labels, snapshot) takes the
// table mutex, which happens a few times per session, not per packet.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/session/endpoint.h"
#include "agent/session/session_types.h"

namespace wb::session {

using Clock = std::chrono::system_clock;

// A copy of one session at snapshot time.
struct SessionRecord {
  std::uint64_t id = 0;
  Endpoint client;
  Endpoint server;  // the original destination
  std::string sni;
  Protocol protocol = Protocol::kUnknown;
  State state = State::kAccepted;
  Verdict verdict = Verdict::kPending;
  std::string reason;
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_from_server = 0;
  Clock::time_point start;
  Clock::time_point last_activity;
  std::string inspector_brief;      // empty when no inspector
  nlohmann::json inspector_detail;  // null when no inspector
};

// {"id":..,"client":"192.0.2.1:40000","server":"192.0.2.2:443","sni":..,"protocol":"https",
//  "state":..,"verdict":..,"reason":..,"bytes_from_client":..,"bytes_from_server":..,
//  "start":"2026-11-21T00:00:00.000Z","last_activity":..,"inspector":{"brief":..,"detail":..}}
nlohmann::json to_json(const SessionRecord& record);

struct SessionFilter {
  std::optional<Protocol> protocol;
};

// One live session. Owned by the table; the pointer stays valid until SessionTable::close().
class SessionEntry {
 public:
  SessionEntry(std::uint64_t id, Endpoint client, Endpoint server);

  std::uint64_t id() const { return id_; }
  const Endpoint& client() const { return client_; }
  const Endpoint& server() const { return server_; }

  // Lock-free, for the owning worker's data path.
  void add_from_client(std::uint64_t bytes, Clock::time_point now);
  void add_from_server(std::uint64_t bytes, Clock::time_point now);

 private:
  friend class SessionTable;
  const std::uint64_t id_;
  const Endpoint client_;
  const Endpoint server_;
  const Clock::time_point start_;
  const std::chrono::steady_clock::time_point start_steady_;
  std::atomic<std::uint64_t> from_client_{0};
  std::atomic<std::uint64_t> from_server_{0};
  std::atomic<Clock::rep> last_activity_;
  // Guarded by SessionTable::mutex_.
  Protocol protocol_ = Protocol::kUnknown;
  State state_ = State::kAccepted;
  Verdict verdict_ = Verdict::kPending;
  std::string sni_;
  std::string reason_;
  std::string brief_;
  // The inspector's detail, serialised: a parsed JSON tree costs an idle HTTPS session ~2.7 KiB
  // of map nodes; only `wirebump sessions --json` reads it back.
  std::string detail_;
};

// Why open() returned nullptr.
enum class Refusal : std::uint8_t { kNone, kTableFull, kClientLimit };

class SessionTable {
 public:
  // max_per_client 0: no per-client limit.
  explicit SessionTable(std::size_t max_sessions, std::size_t max_per_client = 0);
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Registers a new session, or nullptr when max_sessions are open (counted in refused()) or
  // max_per_client sessions from client's address are (counted in refused_per_client()).
  SessionEntry* open(const Endpoint& client, const Endpoint& server, Refusal* why = nullptr);
  // Logs the end line (client, server, PROTOCOL, verdict, bytes, duration, reason) and removes
  // the entry; `entry` is invalid afterwards. An empty `reason` keeps the one set before.
  void close(SessionEntry* entry, std::string_view reason);

  void set_protocol(SessionEntry* entry, Protocol protocol);
  void set_state(SessionEntry* entry, State state);
  void set_sni(SessionEntry* entry, std::string_view sni);
  void set_verdict(SessionEntry* entry, Verdict verdict, std::string_view reason);
  void set_inspection(SessionEntry* entry, std::string brief, nlohmann::json detail);
  // Bytes allocated for the entry's inspector brief and detail (memory accounting, tests).
  std::size_t inspection_bytes(const SessionEntry* entry) const;

  // Consistent copy of the matching sessions, ordered by id.
  std::vector<SessionRecord> snapshot(const SessionFilter& filter = {}) const;
  std::map<Protocol, std::size_t> count_by_protocol() const;

  std::size_t active() const;
  std::size_t max_sessions() const { return max_sessions_; }
  std::size_t max_per_client() const { return max_per_client_; }
  // Open sessions from client's address (any port).
  std::size_t active_from(const Endpoint& client) const;
  std::uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  std::uint64_t refused_per_client() const {
    return refused_per_client_.load(std::memory_order_relaxed);
  }
  // A connection the relay turned away (or tunnelled untracked) for a reason of its own.
  void count_refused() { refused_.fetch_add(1, std::memory_order_relaxed); }

 private:
  // `with_detail`: parse the inspector's detail back into JSON (snapshots); the end-of-session
  // line does not show it, and parsing it for every closing session cost ~1 % of the agent.
  SessionRecord record_locked(const SessionEntry& entry, bool with_detail = true) const;

  const std::size_t max_sessions_;
  const std::size_t max_per_client_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::unique_ptr<SessionEntry>> entries_;
  // Open sessions per client address ("192.0.2.1"); only addresses with at least one.
  std::unordered_map<std::string, std::size_t> per_client_;
  std::uint64_t next_id_ = 1;
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> refused_per_client_{0};
};

// The end-of-session log line, e.g. `session 7 end: 192.0.2.1:40000 -> 192.0.2.2:443 HTTPS
// verdict=intercept up=517 down=4096 duration=1.204s reason="client closed"`.
std::string end_line(const SessionRecord& record, std::chrono::steady_clock::duration duration);

}  // namespace wb::session
