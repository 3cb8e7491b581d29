#include "agent/tls13/record_boundaries.h"

#include <algorithm>

namespace wb::tls13 {

void RecordBoundaries::consume(std::span<const std::uint8_t> bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && !malformed_) {
    if (body_left_ > 0) {
      const std::size_t take = std::min<std::size_t>(body_left_, bytes.size() - i);
      body_left_ -= static_cast<std::uint32_t>(take);
      i += take;
      if (body_left_ == 0) ++complete_;
      continue;
    }
    // Header: type (1), legacy_record_version (2), length (2).
    const std::uint8_t b = bytes[i++];
    ++header_got_;
    if (header_got_ == 4) length_hi_ = b;
    if (header_got_ < 5) continue;
    header_got_ = 0;
    const std::uint32_t length = (std::uint32_t{length_hi_} << 8) | b;
    if (length > kMaxRecordLength) {
      malformed_ = true;
    } else if (length == 0) {
      ++complete_;
    } else {
      body_left_ = length;
    }
  }
}

}  // namespace wb::tls13
