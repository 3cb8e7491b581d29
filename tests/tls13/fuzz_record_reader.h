// What both record-layer fuzzers (fuzz_tls13_records, fuzz_tls12_records) check on the read side
// of any tls13::RecordProtection: read_into stops producing on its own (after at most as many
// reads as there are plaintext bytes the peer wrote and this reader has not got yet), produces
// nothing with or after a terminal state, and never more than the buffer it was given. Aborts on
// a violation (libFuzzer reports it). Header-only: the fuzzers link nothing of the test support.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "agent/tls13/record_protection.h"

namespace wb::test {

struct FuzzReader {
  std::vector<std::uint8_t> got;
  bool failed = false;
  bool closed = false;
  // `pending`: plaintext the peer wrote that this reader has not got (0: none can come). Every
  // read that produces returns at least a byte, so reads beyond that never end on their own.
  void drain(tls13::RecordProtection& rl, std::size_t chunk, std::size_t pending) {
    using Progress = tls13::RecordProtection::Progress;
    std::vector<std::uint8_t> buf(chunk == 0 ? 1 : chunk);
    for (std::size_t reads = 0; reads <= pending; ++reads) {
      std::size_t n = 0;
      const auto p = rl.read_into(buf, n);
      if (p == Progress::kDone) {
        if (failed || closed || n == 0 || n > buf.size()) std::abort();
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        continue;
      }
      if (p == Progress::kFailed) failed = true;
      if (p == Progress::kClosed) closed = true;
      if (n != 0) std::abort();
      return;
    }
    std::abort();  // more bytes than were written, or read_into does not stop on its own
  }

  // What `written` bytes leave for this reader to get (0 once it has them all, or more).
  std::size_t pending(std::size_t written) const {
    return written > got.size() ? written - got.size() : 0;
  }
};

// Mode (a) of both fuzzers: `data` is raw ciphertext from a peer without the keys, fed in
// fuzz-chosen pieces (first byte of each step) with fuzz-chosen read sizes (second byte).
inline void fuzz_raw_ciphertext(tls13::RecordProtection& ours, std::span<const std::uint8_t> data) {
  FuzzReader r;
  while (!data.empty()) {
    const std::size_t piece = std::min<std::size_t>(data[0] + 1, data.size() - 1);
    const std::size_t chunk = data.size() > 1 ? std::size_t{data[1]} * 67 : 1;
    ours.feed(data.subspan(1, piece));
    data = data.subspan(1 + piece);
    r.drain(ours, chunk, 0);  // without the keys nothing decrypts
    ours.consume_output();
  }
  ours.feed_eof();
  r.drain(ours, 100, 0);
  ours.release_buffers();
}

}  // namespace wb::test
