#include "agent/session/session_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace wb::session {
namespace {

std::string iso8601(Clock::time_point when) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return text;
}

}  // namespace

nlohmann::json to_json(const SessionRecord& record) {
  nlohmann::json out = {
      {"id", record.id},
      {"client", record.client.to_string()},
      {"server", record.server.to_string()},
      {"sni", record.sni},
      {"protocol", std::string(label(record.protocol))},
      {"state", std::string(label(record.state))},
      {"verdict", std::string(label(record.verdict))},
      {"reason", record.reason},
      {"bytes_from_client", record.bytes_from_client},
      {"bytes_from_server", record.bytes_from_server},
      {"start", iso8601(record.start)},
      {"last_activity", iso8601(record.last_activity)},
  };
  if (!record.inspector_brief.empty() || !record.inspector_detail.is_null()) {
    out["inspector"] = {{"brief", record.inspector_brief}, {"detail", record.inspector_detail}};
  }
  return out;
}

SessionEntry::SessionEntry(std::uint64_t id, Endpoint client, Endpoint server)
    : id_(id),
      client_(std::move(client)),
      server_(std::move(server)),
      start_(Clock::now()),
      start_steady_(std::chrono::steady_clock::now()),
      last_activity_(start_.time_since_epoch().count()) {}

void SessionEntry::add_from_client(std::uint64_t bytes, Clock::time_point now) {
  from_client_.fetch_add(bytes, std::memory_order_relaxed);
  last_activity_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
}

void SessionEntry::add_from_server(std::uint64_t bytes, Clock::time_point now) {
  from_server_.fetch_add(bytes, std::memory_order_relaxed);
  last_activity_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
}

SessionTable::SessionTable(std::size_t max_sessions, std::size_t max_per_client)
    : max_sessions_(max_sessions), max_per_client_(max_per_client) {}

SessionEntry* SessionTable::open(const Endpoint& client, const Endpoint& server, Refusal* why) {
  if (why != nullptr) *why = Refusal::kNone;
  std::string address = client.address_string();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_sessions_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    if (why != nullptr) *why = Refusal::kTableFull;
    return nullptr;
  }
  std::size_t& from_client = per_client_[address];
  if (max_per_client_ != 0 && from_client >= max_per_client_) {
    refused_per_client_.fetch_add(1, std::memory_order_relaxed);
    if (why != nullptr) *why = Refusal::kClientLimit;
    return nullptr;  // from_client > 0 here: the map entry already existed
  }
  ++from_client;
  const std::uint64_t id = next_id_++;
  auto entry = std::make_unique<SessionEntry>(id, client, server);
  SessionEntry* raw = entry.get();
  entries_.emplace(id, std::move(entry));
  opened_.fetch_add(1, std::memory_order_relaxed);
  return raw;
}

std::size_t SessionTable::active_from(const Endpoint& client) const {
  std::lock_guard lock(mutex_);
  const auto found = per_client_.find(client.address_string());
  return found == per_client_.end() ? 0 : found->second;
}

void SessionTable::close(SessionEntry* entry, std::string_view reason) {
  if (entry == nullptr) return;
  SessionRecord record;
  std::unique_ptr<SessionEntry> owned;
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(entry->id());
    if (found == entries_.end()) return;
    if (!reason.empty()) entry->reason_ = std::string(reason);
    record = record_locked(*entry, /*with_detail=*/false);
    owned = std::move(found->second);
    entries_.erase(found);
    const auto client = per_client_.find(owned->client_.address_string());
    if (client != per_client_.end() && --client->second == 0) per_client_.erase(client);
  }
  // Logged outside the lock: a slow log sink must not stall other workers' table updates.
  spdlog::info("{}", end_line(record, std::chrono::steady_clock::now() - owned->start_steady_));
}

void SessionTable::set_protocol(SessionEntry* entry, Protocol protocol) {
  std::lock_guard lock(mutex_);
  entry->protocol_ = protocol;
}

void SessionTable::set_state(SessionEntry* entry, State state) {
  std::lock_guard lock(mutex_);
  entry->state_ = state;
}

void SessionTable::set_sni(SessionEntry* entry, std::string_view sni) {
  std::lock_guard lock(mutex_);
  entry->sni_ = std::string(sni);
}

void SessionTable::set_verdict(SessionEntry* entry, Verdict verdict, std::string_view reason) {
  std::lock_guard lock(mutex_);
  entry->verdict_ = verdict;
  entry->reason_ = std::string(reason);
}

void SessionTable::set_inspection(SessionEntry* entry, std::string brief, nlohmann::json detail) {
  // Bytes from the wire may not be UTF-8: replaced, never a throw on the data path. Serialised
  // outside the lock; the serialiser grows its string by doubling, so an idle session would
  // keep up to twice the text (~1 KiB allocated for ~0.6 KiB of an HTTP detail): kept exact.
  std::string text = detail.is_null()
                         ? std::string()
                         : detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.shrink_to_fit();
  brief.shrink_to_fit();
  // Swapped, not moved: a short (in-place) string moved into a long one keeps the long one's
  // allocation. The old ones are freed here, after the lock.
  std::lock_guard lock(mutex_);
  entry->brief_.swap(brief);
  entry->detail_.swap(text);
}

std::size_t SessionTable::inspection_bytes(const SessionEntry* entry) const {
  std::lock_guard lock(mutex_);
  return entry->brief_.capacity() + entry->detail_.capacity();
}

SessionRecord SessionTable::record_locked(const SessionEntry& entry, bool with_detail) const {
  SessionRecord record;
  record.id = entry.id_;
  record.client = entry.client_;
  record.server = entry.server_;
  record.sni = entry.sni_;
  record.protocol = entry.protocol_;
  record.state = entry.state_;
  record.verdict = entry.verdict_;
  record.reason = entry.reason_;
  record.bytes_from_client = entry.from_client_.load(std::memory_order_relaxed);
  record.bytes_from_server = entry.from_server_.load(std::memory_order_relaxed);
  record.start = entry.start_;
  record.last_activity =
      Clock::time_point(Clock::duration(entry.last_activity_.load(std::memory_order_relaxed)));
  record.inspector_brief = entry.brief_;
  if (with_detail && !entry.detail_.empty()) {
    record.inspector_detail =
        nlohmann::json::parse(entry.detail_, nullptr, /*allow_exceptions=*/false);
  }
  return record;
}

std::vector<SessionRecord> SessionTable::snapshot(const SessionFilter& filter) const {
  std::vector<SessionRecord> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(entries_.size());
    for (const auto& [id, entry] : entries_) {
      if (filter.protocol && entry->protocol_ != *filter.protocol) continue;
      out.push_back(record_locked(*entry));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SessionRecord& a, const SessionRecord& b) { return a.id < b.id; });
  return out;
}

std::map<Protocol, std::size_t> SessionTable::count_by_protocol() const {
  std::map<Protocol, std::size_t> counts;
  std::lock_guard lock(mutex_);
  for (const auto& [id, entry] : entries_) ++counts[entry->protocol_];
  return counts;
}

std::size_t SessionTable::active() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::string end_line(const SessionRecord& record, std::chrono::steady_clock::duration duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  char formatted[32];
  std::snprintf(formatted, sizeof(formatted), "%.3fs", seconds);
  return "session " + std::to_string(record.id) + " end: " + record.client.to_string() + " -> " +
         record.server.to_string() + " " + std::string(log_label(record.protocol)) +
         (record.sni.empty() ? "" : " sni=" + record.sni) +
         " verdict=" + std::string(label(record.verdict)) +
         " up=" + std::to_string(record.bytes_from_client) +
         " down=" + std::to_string(record.bytes_from_server) + " duration=" + formatted +
         " reason=\"" + record.reason + "\"";
}

}  // namespace wb::session
