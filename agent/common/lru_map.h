// A bounded map that forgets its least recently used entry: the shape of every cache the agent
// keeps per destination (upstream TLS sessions, speculation hints). Not thread-safe: the owner
// holds its own lock, so that what is freed on eviction can be freed outside that lock.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace wb {

template <typename Key, typename Value>
class LruMap {
 public:
  explicit LruMap(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The entry for `key`, now the most recently used; nullptr when absent.
  Value* find(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->second;
  }

  // Stores `value` under `key`. Returns what left the map: the value it replaced, or the least
  // recently used entry's beyond capacity (for the caller to free outside its lock).
  std::optional<Value> put(const Key& key, Value value) {
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return std::exchange(it->second->second, std::move(value));
    }
    lru_.emplace_front(key, std::move(value));
    index_.emplace(key, lru_.begin());
    if (lru_.size() <= capacity_) return std::nullopt;
    std::optional<Value> evicted(std::move(lru_.back().second));
    index_.erase(lru_.back().first);
    lru_.pop_back();
    return evicted;
  }

  // Removes `key`; returns its value if it was there.
  std::optional<Value> erase(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    std::optional<Value> gone(std::move(it->second->second));
    lru_.erase(it->second);
    index_.erase(it);
    return gone;
  }

  std::size_t size() const { return lru_.size(); }
  std::size_t capacity() const { return capacity_; }

  // Every entry, most recently used first.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (auto& [key, value] : lru_) fn(key, value);
  }

 private:
  using Entry = std::pair<Key, Value>;
  std::size_t capacity_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<Key, typename std::list<Entry>::iterator> index_;
};

}  // namespace wb
