// The first bytes of one TCP direction, reassembled from segments as they appear in a capture:
// out of order, retransmitted, overlapping, with sequence numbers wrapping around 2^32.
//
// Only the first `cap` bytes of the stream are kept (the classifier never looks further). The
// first copy of a byte wins (as in the first segment the receiver would have accepted); later
// copies only count as retransmissions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wb::replay {

class StreamPrefix {
 public:
  explicit StreamPrefix(std::size_t cap) : cap_(cap) {}

  // A SYN (or SYN+ACK) with initial sequence number `isn`: data starts at isn + 1.
  void on_syn(std::uint32_t isn);
  // A segment carrying `captured` bytes at sequence `seq` (already past the SYN's own sequence
  // number); `wire_len` >= captured.size() when the frame was cut by the snapshot length.
  void on_data(std::uint32_t seq, std::span<const std::uint8_t> captured, std::size_t wire_len);

  // The bytes known without a hole, from the first byte of the stream.
  std::span<const std::uint8_t> contiguous() const {
    return std::span<const std::uint8_t>(bytes_).first(contiguous_);
  }
  bool syn_seen() const { return syn_seen_; }
  bool midstream() const { return started_ && !syn_seen_; }  // data before any SYN: base guessed
  bool has_gap() const { return highest_ > contiguous_; }    // bytes beyond a hole
  bool capped() const { return beyond_cap_; }                // data past `cap` was dropped
  std::size_t segments() const { return segments_; }
  std::size_t retransmissions() const { return retransmissions_; }
  std::size_t out_of_order() const { return out_of_order_; }
  std::size_t cut_bytes() const { return cut_bytes_; }  // lost to the snapshot length

 private:
  std::size_t cap_;
  std::uint32_t base_ = 0;  // sequence number of stream byte 0
  bool syn_seen_ = false;
  bool started_ = false;  // base_ is set
  std::vector<std::uint8_t> bytes_;
  std::vector<bool> filled_;
  std::size_t contiguous_ = 0;
  std::size_t highest_ = 0;  // one past the highest stream offset written
  bool beyond_cap_ = false;
  std::size_t segments_ = 0, retransmissions_ = 0, out_of_order_ = 0, cut_bytes_ = 0;
};

}  // namespace wb::replay
