#include "agent/replay/stream_prefix.h"

#include <algorithm>

namespace wb::replay {

void StreamPrefix::on_syn(std::uint32_t isn) {
  // A retransmitted SYN changes nothing; a SYN after data seen midstream re-bases the stream
  // only while nothing has been placed yet.
  if (syn_seen_ || highest_ != 0) {
    syn_seen_ = true;
    return;
  }
  syn_seen_ = true;
  started_ = true;
  base_ = isn + 1;
}

void StreamPrefix::on_data(std::uint32_t seq, std::span<const std::uint8_t> captured,
                           std::size_t wire_len) {
  if (wire_len == 0) return;
  ++segments_;
  if (!started_) {  // capture started mid-connection: the first data seen is byte 0
    started_ = true;
    base_ = seq;
  }
  // Offsets relative to the stream start, modulo 2^32: a segment that starts before byte 0
  // (a retransmission overlapping the SYN, or a capture that began mid-stream) has a
  // "negative" offset, i.e. one in the upper half of the sequence space.
  const std::uint32_t rel32 = seq - base_;
  std::size_t skip = 0;
  std::size_t start = rel32;
  if (rel32 >= 0x80000000u) {
    skip = std::size_t{0x100000000u} - rel32;
    start = 0;
    if (skip >= wire_len) {
      ++retransmissions_;
      return;
    }
  }
  cut_bytes_ += wire_len - captured.size();
  if (start > contiguous_) ++out_of_order_;
  const std::size_t wire_end = start + (wire_len - skip);
  if (wire_end > cap_) beyond_cap_ = true;
  // Only captured bytes can be placed; bytes lost to the snapshot length stay a hole.
  const std::size_t have = captured.size() > skip ? captured.size() - skip : 0;
  const std::size_t end = std::min({start + have, cap_});
  if (end > bytes_.size()) {
    bytes_.resize(end);
    filled_.resize(end, false);
  }
  bool fresh = false;
  for (std::size_t i = start; i < end; ++i) {
    if (filled_[i]) continue;
    filled_[i] = true;
    bytes_[i] = captured[skip + i - start];
    fresh = true;
  }
  if (!fresh && start < cap_ && end > start) ++retransmissions_;
  highest_ = std::max(highest_, std::min(wire_end, cap_));
  while (contiguous_ < filled_.size() && filled_[contiguous_]) ++contiguous_;
}

}  // namespace wb::replay
