#include "agent/intercept/speculation_hints.h"

namespace wb::intercept {

SpeculationHints::SpeculationHints(std::size_t capacity, std::chrono::seconds ttl)
    : ttl_(ttl), entries_(capacity) {}

std::string SpeculationHints::key(std::string_view destination, std::string_view sni,
                                  std::span<const std::string> alpn,
                                  certs::KeyTypes client_accepts) {
  // Fields separated by NUL, ALPN entries by their length: no two inputs give one key.
  std::string k;
  k.reserve(destination.size() + sni.size() + 16);
  k.append(destination).push_back('\0');
  k.append(sni).push_back('\0');
  for (const auto& protocol : alpn) {
    k.append(std::to_string(protocol.size())).push_back(':');
    k.append(protocol);
  }
  k.push_back('\0');
  k.append(std::to_string(client_accepts.bits));
  return k;
}

std::optional<SpeculationHint> SpeculationHints::find(const std::string& key,
                                                      Clock::time_point now) {
  std::optional<Entry> expired;  // freed outside the lock
  std::lock_guard lock(mu_);
  Entry* e = entries_.find(key);
  if (e == nullptr) return std::nullopt;
  if (now >= e->expires) {
    expired = entries_.erase(key);
    return std::nullopt;
  }
  return e->hint;
}

void SpeculationHints::put(const std::string& key, SpeculationHint hint, Clock::time_point now) {
  if (!hint.forged || hint.forged->issuer != certs::IssuerRole::trusted) return;
  std::optional<Entry> gone;
  std::lock_guard lock(mu_);
  gone = entries_.put(key, Entry{std::move(hint), now + ttl_});
}

void SpeculationHints::drop(const std::string& key) {
  std::optional<Entry> gone;
  std::lock_guard lock(mu_);
  gone = entries_.erase(key);
}

std::size_t SpeculationHints::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace wb::intercept
