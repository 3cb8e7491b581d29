#include "agent/policy/learned_tunnels.h"

#include <algorithm>
#include <cctype>

namespace wb::policy {

std::string_view to_string(LearnReason reason) {
  switch (reason) {
    case LearnReason::kClientRejectedCertificate:
      return "client_rejected_certificate";
    case LearnReason::kClientClosedAfterHandshake:
      return "client_closed_after_handshake";
    case LearnReason::kClientCertificateRequested:
      return "client_certificate_requested";
    case LearnReason::kUpstreamHandshakeFailed:
      return "upstream_handshake_failed";
    case LearnReason::kDetectionOff:
      return "detection_off";
  }
  return "unknown";
}

LearnedKey make_learned_key(std::string_view sni, const Destination& destination) {
  if (!sni.empty() && sni.back() == '.') sni.remove_suffix(1);
  LearnedKey key{std::string(sni), destination};
  for (auto& c : key.sni) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

LearnedTunnels::LearnedTunnels(std::chrono::seconds ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(std::max<std::size_t>(capacity, 1)) {}

void LearnedTunnels::expire_locked(Clock::time_point now) {
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
}

void LearnedTunnels::learn(const LearnedKey& key, LearnReason reason, std::string detail,
                           Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() && entries_.size() >= capacity_) {
    expire_locked(now);
    if (entries_.size() >= capacity_) {
      // Full of live entries: the one closest to expiry is worth least.
      const auto victim = std::min_element(
          entries_.begin(), entries_.end(),
          [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
      entries_.erase(victim);
      ++evictions_;
    }
  }
  auto& entry = entries_[key];
  entry.key = key;
  entry.reason = reason;
  entry.detail = std::move(detail);
  entry.learned = now;
  entry.expires = now + ttl_;
}

std::optional<LearnedTunnel> LearnedTunnels::lookup(const LearnedKey& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  ++it->second.hits;
  return it->second;
}

std::vector<LearnedTunnel> LearnedTunnels::list(Clock::time_point now) {
  std::lock_guard lock(mu_);
  expire_locked(now);
  std::vector<LearnedTunnel> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.second);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.expires < b.expires; });
  return out;
}

std::size_t LearnedTunnels::flush() {
  std::lock_guard lock(mu_);
  const auto n = entries_.size();
  entries_.clear();
  return n;
}

std::size_t LearnedTunnels::flush_if(LearnReason reason, std::string_view detail) {
  std::lock_guard lock(mu_);
  return std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.reason == reason && kv.second.detail == detail;
  });
}

void LearnedTunnels::set_capacity(std::size_t capacity) {
  std::lock_guard lock(mu_);
  capacity_ = std::max<std::size_t>(capacity, 1);
}

void LearnedTunnels::set_ttl(std::chrono::seconds ttl) {
  std::lock_guard lock(mu_);
  ttl_ = ttl;
}

std::chrono::seconds LearnedTunnels::ttl() const {
  std::lock_guard lock(mu_);
  return ttl_;
}

std::size_t LearnedTunnels::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::uint64_t LearnedTunnels::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

}  // namespace wb::policy
