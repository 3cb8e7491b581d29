// io_uring user_data for every submission: operation, connection side, upstream epoch, slot
// generation and slot index packed in 64 bits. Never a pointer: a completion that arrives after its
// connection slot was reused is recognised by the generation and dropped.
#pragma once

#include <cstdint>

namespace wb::relay {

enum class Op : std::uint8_t {
  kAccept = 1,       // index = listener index
  kWake = 2,         // eventfd read: stop requested
  kRecv = 3,         // multishot receive on side
  kSend = 4,         // send from the queue towards side
  kConnect = 5,      // upstream connect
  kLinkTimeout = 6,  // the connect's link timeout
  kCancel = 7,       // an async cancel we issued
  kPollIn = 8,       // splice path: side readable
  kPollOut = 9,      // splice path: side writable again
};

struct OpTag {
  Op op;
  std::uint8_t side;   // 0 client, 1 server
  std::uint8_t epoch;  // upstream epoch (7 bits): completions of a dropped upstream are stale
  std::uint16_t generation;
  std::uint32_t index;

  constexpr std::uint64_t encode() const {
    return static_cast<std::uint64_t>(op) << 56 | static_cast<std::uint64_t>(side & 1) << 55 |
           static_cast<std::uint64_t>(epoch & 0x7f) << 48 |
           static_cast<std::uint64_t>(generation) << 32 | index;
  }
  static constexpr OpTag decode(std::uint64_t data) {
    return OpTag{static_cast<Op>(data >> 56), static_cast<std::uint8_t>((data >> 55) & 1),
                 static_cast<std::uint8_t>((data >> 48) & 0x7f),
                 static_cast<std::uint16_t>(data >> 32), static_cast<std::uint32_t>(data)};
  }
};

}  // namespace wb::relay
