// RecordBuffers, the input and pending-plaintext buffers both record layers share: what is fed
// comes back in order across partial reads, a record's plaintext is handed out in pieces, and
// release() frees only what is drained.
#include "agent/tls13/record_buffers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace wb::tls13 {
namespace {

std::vector<std::uint8_t> bytes(std::span<const std::uint8_t> s) {
  return {s.begin(), s.end()};
}

TEST(RecordBuffers, InputKeepsUnreadBytesAcrossFeeds) {
  RecordBuffers b;
  const std::array<std::uint8_t, 4> first = {1, 2, 3, 4};
  const std::array<std::uint8_t, 2> second = {5, 6};
  b.append_input(first);
  b.consume_input(3);
  b.append_input(second);
  EXPECT_EQ(bytes(b.input()), (std::vector<std::uint8_t>{4, 5, 6}));
  b.consume_input(3);
  EXPECT_TRUE(b.input().empty());
  b.append_input(second);  // everything read: starts over
  EXPECT_EQ(bytes(b.input()), (std::vector<std::uint8_t>{5, 6}));
}

TEST(RecordBuffers, PendingIsTakenInPiecesAtEverySplit) {
  for (std::size_t piece = 1; piece <= 6; ++piece) {
    RecordBuffers b;
    const std::span<std::uint8_t> p = b.pending_for(5);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(10 + i);
    EXPECT_TRUE(b.is_pending(p));
    std::vector<std::uint8_t> got;
    std::vector<std::uint8_t> out(piece);
    for (int passes = 0; b.has_pending() && passes < 10; ++passes) {
      const std::size_t n = b.take_pending(out);
      ASSERT_GT(n, 0u);
      got.insert(got.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    }
    EXPECT_EQ(got, (std::vector<std::uint8_t>{10, 11, 12, 13, 14})) << "piece " << piece;
    EXPECT_TRUE(b.pending_empty());
  }
}

TEST(RecordBuffers, TruncateAndDropForgetPlaintext) {
  RecordBuffers b;
  const std::span<std::uint8_t> p = b.pending_for(4);
  std::fill(p.begin(), p.end(), std::uint8_t{7});
  b.truncate_pending(2);
  std::array<std::uint8_t, 8> out{};
  EXPECT_EQ(b.take_pending(out), 2u);
  EXPECT_FALSE(b.has_pending());
  b.pending_for(3);
  b.drop_pending();
  EXPECT_FALSE(b.has_pending());
  EXPECT_TRUE(b.pending_empty());
}

TEST(RecordBuffers, ReleaseFreesOnlyDrainedBuffers) {
  RecordBuffers b;
  const std::array<std::uint8_t, 4> in = {1, 2, 3, 4};
  b.append_input(in);
  b.pending_for(100);
  b.release();
  EXPECT_GE(b.capacity(), 104u);  // unread input and untaken plaintext stay
  b.consume_input(4);
  std::array<std::uint8_t, 100> out{};
  EXPECT_EQ(b.take_pending(out), 100u);
  b.release();
  EXPECT_EQ(b.capacity(), 0u);
}

}  // namespace
}  // namespace wb::tls13
