// Incremental SIP framing for stream transports (TCP, TLS), RFC 3261 section 18.3: feed it the
// bytes of one direction in any chunking; it returns one step at a time (a message, a CRLF
// keepalive, need-more, or an error) and says exactly how many input bytes that step consumed.
// At most one message is buffered, capped by Limits, so memory per direction is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "inspectors/parse.h"
#include "inspectors/sip/sip_message.h"

namespace wb::sip {

struct Limits {
  std::size_t max_head_bytes = 64 * 1024;   // start line + headers (Lync puts certificates there)
  std::size_t max_body_bytes = 256 * 1024;  // a 64 KiB SDP body is a real case
};

struct Step {
  enum class Kind : std::uint8_t {
    kNeedMore,   // everything given was consumed; feed more
    kMessage,    // message() is complete (valid until the next feed)
    kKeepalive,  // CRLF or double-CRLF keepalive (RFC 5626)
    kError,      // malformed or over a limit; error() says why; the stream is lost from here on
    kOpaque,     // the stream was declared opaque (compressed SIP); bytes are only counted
  };
  Kind kind = Kind::kNeedMore;
  std::size_t consumed = 0;
};

class StreamParser {
 public:
  explicit StreamParser(Limits limits = {});

  // Takes bytes from `in`; call again with the unconsumed rest after kMessage / kKeepalive.
  Step feed(std::span<const std::uint8_t> in);

  const Message& message() const { return message_; }
  std::string_view error() const { return error_; }
  // From now on every byte is opaque (after a successful LZ77 NEGOTIATE, MS-SIPCOMP).
  void set_opaque() { opaque_ = true; }
  bool opaque() const { return opaque_; }
  bool failed() const { return !error_.empty(); }
  // CRLF keepalive bytes seen between messages.
  std::uint64_t keepalive_bytes() const { return keepalive_bytes_; }
  // Bytes of a partial message waiting for more input.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  Step fail(std::string_view why, std::size_t consumed);
  Step frame(std::size_t appended);

  Limits limits_;
  inspect::BoundedBuffer buffer_;
  std::size_t scan_from_ = 0;   // where to resume looking for the end of the head
  std::size_t head_size_ = 0;   // 0 until the head is complete
  std::size_t total_size_ = 0;  // head + body once Content-Length is known
  bool message_ready_ = false;  // message_ refers to buffer_; clear it on the next feed
  bool opaque_ = false;
  std::uint64_t keepalive_bytes_ = 0;
  std::string_view error_;
  Message message_;
};

// Parses one complete datagram (SIP over UDP): the body is whatever follows the head; a
// Content-Length, when present, must not exceed it. `datagram` is modified (folded lines).
Step parse_datagram(std::span<char> datagram, Message& out, std::string_view& error);

}  // namespace wb::sip
