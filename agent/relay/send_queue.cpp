#include "agent/relay/send_queue.h"

#include <algorithm>
#include <cstring>

namespace wb::relay {

ChunkPool::~ChunkPool() {
  for (Chunk* chunk : free_) delete chunk;
}

Chunk* ChunkPool::get() {
  if (free_.empty()) return new Chunk;
  Chunk* chunk = free_.back();
  free_.pop_back();
  chunk->next = nullptr;
  chunk->begin = chunk->end = 0;
  return chunk;
}

void ChunkPool::put(Chunk* chunk) {
  if (free_.size() >= keep_free_) {
    delete chunk;
    return;
  }
  free_.push_back(chunk);
}

void SendQueue::append(ChunkPool& pool, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    if (tail_ == nullptr || tail_->end == Chunk::kCapacity) {
      Chunk* chunk = pool.get();
      if (tail_ == nullptr) {
        head_ = tail_ = chunk;
      } else {
        tail_->next = chunk;
        tail_ = chunk;
      }
    }
    const std::size_t room = Chunk::kCapacity - tail_->end;
    const std::size_t take = std::min(room, bytes.size());
    std::memcpy(tail_->data + tail_->end, bytes.data(), take);
    tail_->end += static_cast<std::uint32_t>(take);
    bytes_ += take;
    bytes = bytes.subspan(take);
  }
}

std::span<const std::uint8_t> SendQueue::front() const {
  if (head_ == nullptr) return {};
  return {head_->data + head_->begin, head_->end - head_->begin};
}

void SendQueue::consume(ChunkPool& pool, std::size_t count) {
  while (count > 0 && head_ != nullptr) {
    const std::size_t take = std::min<std::size_t>(count, head_->end - head_->begin);
    head_->begin += static_cast<std::uint32_t>(take);
    bytes_ -= take;
    count -= take;
    if (head_->begin == head_->end) {
      Chunk* done = head_;
      head_ = head_->next;
      if (head_ == nullptr) tail_ = nullptr;
      pool.put(done);
    }
  }
}

void SendQueue::clear(ChunkPool& pool) {
  while (head_ != nullptr) {
    Chunk* next = head_->next;
    pool.put(head_);
    head_ = next;
  }
  tail_ = nullptr;
  bytes_ = 0;
}

void SendQueue::move_to(SendQueue& other) {
  if (head_ == nullptr) return;
  if (other.tail_ == nullptr) {
    other.head_ = head_;
  } else {
    other.tail_->next = head_;
  }
  other.tail_ = tail_;
  other.bytes_ += bytes_;
  head_ = tail_ = nullptr;
  bytes_ = 0;
}

}  // namespace wb::relay
