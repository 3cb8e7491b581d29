// Blocking socket helpers shared by the test peer and the test relay.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <span>

namespace wb::test {

// Writes everything or returns false (peer gone).
inline bool write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace wb::test
