// The provided-buffer ring of one worker: `count` buffers of `size` bytes shared by all of its
// connections' multishot receives. A connection holds a buffer only for the duration of one
// on_data callback, so idle connections hold none. liburing 2.3 has no io_uring_setup_buf_ring:
// the ring is mmap'ed here and registered with io_uring_register_buf_ring.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/common/result.h"

namespace wb::relay {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // count must be a power of two (kernel requirement), <= 32768.
  Status init(io_uring* ring, std::uint16_t group, unsigned count, unsigned size);
  void release();

  std::uint16_t group() const { return group_; }
  std::span<const std::uint8_t> buffer(std::uint16_t id, std::size_t length) const;
  // Gives a buffer back to the kernel.
  void recycle(std::uint16_t id);

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::uint8_t* memory_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::size_t memory_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  std::uint16_t group_ = 0;
};

}  // namespace wb::relay
