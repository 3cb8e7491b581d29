#include "agent/relay/buffer_ring.h"

#include <sys/mman.h>

namespace wb::relay {

BufferRing::~BufferRing() {
  release();
}

Status BufferRing::init(io_uring* ring, std::uint16_t group, unsigned count, unsigned size) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0) {
    return make_error(std::errc::invalid_argument, "buffer ring: count must be a power of two");
  }
  ring_ = ring;
  group_ = group;
  count_ = count;
  size_ = size;
  ring_bytes_ = sizeof(io_uring_buf) * count;
  void* ring_memory =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) return errno_error("buffer ring: mmap ring");
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_memory);
  memory_bytes_ = static_cast<std::size_t>(count) * size;
  void* data =
      mmap(nullptr, memory_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (data == MAP_FAILED) {
    const Error error = errno_error("buffer ring: mmap buffers");
    release();
    return error;
  }
  memory_ = static_cast<std::uint8_t*>(data);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group;
  if (const int rc = io_uring_register_buf_ring(ring, &reg, 0); rc < 0) {
    const Error error = errno_error(-rc, "io_uring_register_buf_ring");
    munmap(memory_, memory_bytes_);
    munmap(buf_ring_, ring_bytes_);
    memory_ = nullptr;
    buf_ring_ = nullptr;
    ring_ = nullptr;
    return error;
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, memory_ + static_cast<std::size_t>(i) * size, size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
  return {};
}

void BufferRing::release() {
  if (ring_ != nullptr && buf_ring_ != nullptr) io_uring_unregister_buf_ring(ring_, group_);
  if (memory_ != nullptr) munmap(memory_, memory_bytes_);
  if (buf_ring_ != nullptr) munmap(buf_ring_, ring_bytes_);
  memory_ = nullptr;
  buf_ring_ = nullptr;
  ring_ = nullptr;
}

std::span<const std::uint8_t> BufferRing::buffer(std::uint16_t id, std::size_t length) const {
  return {memory_ + static_cast<std::size_t>(id) * size_, length};
}

void BufferRing::recycle(std::uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, memory_ + static_cast<std::size_t>(id) * size_, size_, id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace wb::relay
