// Incremental framing of one direction of a TURN-over-TCP stream. It recognises, from the first
// bytes, which of the three stream formats it carries and then frames it:
//  - MS-TURN over TCP: the pseudo-TLS hello (50 bytes from the client, 83 from the server), then
//    4-byte frames `type | 0 | length(2)`: 0x02 control (one MS-TURN message), 0x03 end-to-end
//    data; any other type is a stream error;
//  - MS-TURN framing without the hello (inside an intercepted real TLS session);
//  - RFC 5766/8656 TURN: STUN messages (self-delimiting) and ChannelData (padded to 4 on streams).
// Control messages are buffered whole (at most 20 + 65535 bytes); data payloads are only counted,
// never buffered, so memory per direction is bounded by one control message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "inspectors/parse.h"
#include "inspectors/turn/stun_message.h"

namespace wb::turn {

enum class Role : std::uint8_t { kClient, kServer };
enum class Format : std::uint8_t { kUnknown, kMsTurnPseudoTls, kMsTurn, kStun };

struct Event {
  enum class Kind : std::uint8_t {
    kNeedMore,     // all input consumed
    kPseudoTls,    // the pseudo-TLS hello (or answer) is complete
    kMessage,      // message() holds a control / STUN message
    kData,         // an MS-TURN data frame of `size` payload bytes ended
    kChannelData,  // a ChannelData message for `channel` of `size` bytes ended
    kError,        // error(); everything after is counted as opaque
  };
  Kind kind = Kind::kNeedMore;
  std::size_t consumed = 0;
  std::uint16_t channel = 0;
  std::size_t size = 0;
};

class TurnStream {
 public:
  explicit TurnStream(Role role);

  Event feed(std::span<const std::uint8_t> in);

  Format format() const { return format_; }
  const Message& message() const { return message_; }
  std::string_view error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  // Tells a stream whose first bytes are still unseen what the other side already proved
  // (an MS-TURN server answer stream starts with the pseudo-TLS answer, not STUN).
  void expect(Format format);

 private:
  enum class State : std::uint8_t { kDetect, kHello, kHeader, kBody, kSkip };
  Event feed_once(std::span<const std::uint8_t> in);
  Event fail(std::string_view why, std::size_t consumed);
  Event on_header_complete(std::size_t consumed);
  Event on_body_complete(std::size_t consumed);

  Role role_;
  Format format_ = Format::kUnknown;
  State state_ = State::kDetect;
  inspect::BoundedBuffer buffer_;
  std::size_t need_ = 0;       // bytes the current header or body still needs
  std::size_t skip_ = 0;       // payload (and padding) bytes still to skip
  std::size_t skip_size_ = 0;  // payload size of the frame being skipped
  std::uint16_t channel_ = 0;  // ChannelData channel being skipped (0: MS data frame)
  bool ready_ = false;         // message_ refers to buffer_
  std::string_view error_;
  Message message_;
};

}  // namespace wb::turn
