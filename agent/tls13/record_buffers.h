// The buffers both record layers (tls13::RecordLayer, tls12::RecordLayer) keep between calls:
// the ciphertext fed and not yet read, and the plaintext of one record the caller's buffer could
// not hold. Plaintext is wiped (OPENSSL_cleanse) whenever it is dropped; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/tls13/record_protection.h"

namespace wb::tls13 {

class RecordBuffers {
 public:
  RecordBuffers() = default;
  ~RecordBuffers();
  RecordBuffers(const RecordBuffers&) = delete;
  RecordBuffers& operator=(const RecordBuffers&) = delete;

  // ---- ciphertext fed ----
  // Appends after dropping what was already read (the buffer never holds consumed bytes).
  void append_input(std::span<const std::uint8_t> ciphertext);
  // Fed and not yet read.
  std::span<std::uint8_t> input() { return std::span(in_).subspan(in_off_); }
  void consume_input(std::size_t n) { in_off_ += n; }

  // ---- plaintext of one record ----
  bool has_pending() const { return pending_off_ < pending_.size(); }
  // `len` bytes for one record's plaintext, replacing what was there.
  std::span<std::uint8_t> pending_for(std::size_t len);
  bool is_pending(std::span<const std::uint8_t> s) const { return s.data() == pending_.data(); }
  bool pending_empty() const { return pending_.empty(); }
  // Keeps the first `n` bytes; the rest is wiped.
  void truncate_pending(std::size_t n);
  // Copies as much as fits into `out`; wipes and frees the record once all of it was taken.
  std::size_t take_pending(std::span<std::uint8_t> out);
  // Wipes and forgets the pending plaintext.
  void drop_pending();

  // Frees the input when all of it was read and the pending plaintext when all was taken.
  void release();
  std::size_t capacity() const { return in_.capacity() + pending_.capacity(); }

 private:
  std::vector<std::uint8_t> in_;  // ciphertext fed and not yet read, from in_off_
  std::size_t in_off_ = 0;
  std::vector<std::uint8_t> pending_;  // plaintext of one record the caller's buffer could not hold
  std::size_t pending_off_ = 0;
};

// read_into() of both layers: the pending plaintext first, else one record per pass until a pass
// yields output or a state. Bounded: every pass consumes one complete record or returns.
// `failed` and `closed` are the layer's flags (read_record may set them); read_record(out, got,
// again) reads one record and sets `again` when it consumed one without output for the caller.
template <class ReadRecord>
RecordProtection::Progress read_records(RecordBuffers& buffers, std::span<std::uint8_t> out,
                                        std::size_t& got, const bool& failed, const bool& closed,
                                        ReadRecord&& read_record) {
  using Progress = RecordProtection::Progress;
  got = 0;
  for (;;) {
    if (failed) return Progress::kFailed;
    if (buffers.has_pending()) {
      if (out.empty()) return Progress::kWantMore;
      got = buffers.take_pending(out);
      return Progress::kDone;
    }
    if (closed) return Progress::kClosed;
    if (out.empty()) return Progress::kWantMore;
    bool again = false;
    const Progress p = read_record(out, got, again);
    if (!again) return p;
  }
}

}  // namespace wb::tls13
