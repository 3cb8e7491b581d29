// A bounded, chunked byte queue per connection and direction. Chunks come from a per-worker pool
// so that an idle connection owns no buffer at all (the memory target is per IDLE session) and a
// busy one never allocates on every send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wb::relay {

struct Chunk {
  static constexpr std::size_t kCapacity = 64 * 1024 - 32;
  Chunk* next = nullptr;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::uint8_t data[kCapacity];
};

class ChunkPool {
 public:
  explicit ChunkPool(std::size_t keep_free) : keep_free_(keep_free) {}
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  Chunk* get();
  void put(Chunk* chunk);

 private:
  std::size_t keep_free_;  // free chunks cached beyond this go back to the allocator
  std::vector<Chunk*> free_;
};

class SendQueue {
 public:
  SendQueue() = default;
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  std::size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // Copies `bytes` to the tail.
  void append(ChunkPool& pool, std::span<const std::uint8_t> bytes);
  // The contiguous bytes at the head (empty when the queue is).
  std::span<const std::uint8_t> front() const;
  // Drops `count` bytes from the head (count <= front().size()).
  void consume(ChunkPool& pool, std::size_t count);
  void clear(ChunkPool& pool);
  // Moves every chunk to the tail of `other` (used to park bytes that a cancelled send may still
  // reference until its completion arrives).
  void move_to(SendQueue& other);

 private:
  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace wb::relay
