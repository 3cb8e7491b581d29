// Incremental framing of one direction of an HTTP connection: HTTP/1.x heads (buffered up to a
// limit) and bodies (Content-Length, chunked, until close; never buffered, only counted),
// keep-alive and pipelining (the response side learns request methods in order), and HTTP/2
// (client preface, then 9-byte frame headers; payloads counted, not buffered). No I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "inspectors/parse.h"

namespace wb::http {

enum class Role : std::uint8_t { kRequest, kResponse };

struct Header {
  std::string_view name;
  std::string_view value;
};

inline constexpr std::size_t kMaxHeaders = 100;

struct Head {
  bool is_request = false;
  std::string_view method, target, version;  // request line
  int status = 0;                            // status line
  std::string_view reason;
  // Grown per message (at most kMaxHeaders): a fixed array of 100 would cost every session
  // 3.2 KiB per direction, idle or not.
  std::vector<Header> headers;
  std::size_t header_count = 0;
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Limits {
  std::size_t max_head_bytes = 64 * 1024;
};

struct Step {
  enum class Kind : std::uint8_t {
    kNeedMore,       // all input consumed
    kHead,           // head() is complete; head_bytes() are its raw bytes
    kBody,           // `consumed` body bytes (or chunk framing) passed
    kH2Preface,      // the HTTP/2 client connection preface
    kH2FrameHeader,  // frame() holds a complete 9-byte frame header
    kH2Payload,      // `consumed` payload bytes of the current frame passed
    kTunnel,         // after CONNECT / 101 Switching Protocols: opaque bytes
    kError,          // error(); held() gives the bytes that were buffered
  };
  Kind kind = Kind::kNeedMore;
  std::size_t consumed = 0;
  bool end = false;  // this step completed a message (head without body, or the body's end)
};

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream_id = 0;
};

inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class HttpStream {
 public:
  explicit HttpStream(Role role, Limits limits = {});

  Step feed(std::span<const std::uint8_t> in);

  // Response side: the method of the next request, in order (pipelining). Bounded queue.
  void push_request(std::string_view method);
  // Switches to HTTP/2 framing before any byte (ALPN h2, or the client sent the preface).
  void use_h2();

  const Head& head() const { return head_; }
  std::string_view head_bytes() const { return inspect::as_text(buffer_.view()); }
  const FrameHeader& frame() const { return frame_; }
  std::uint64_t body_bytes() const { return body_bytes_; }
  bool chunked() const { return chunked_; }
  bool h2() const { return h2_; }
  std::string_view error() const { return error_; }
  // True while the stream holds input bytes in its buffer (head, h2 frame header, preface).
  bool holding() const;
  inspect::Bytes held() const { return buffer_.view(); }

 private:
  enum class State : std::uint8_t {
    kStart,
    kHead,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kTrailers,
    kUntilClose,
    kPreface,
    kH2Header,
    kH2Payload,
    kTunnel,
    kError,
  };
  enum class Method : std::uint8_t { kOther, kHead, kConnect };
  Step feed_once(std::span<const std::uint8_t> in);
  Step fail(std::string_view why, std::size_t consumed);
  Step on_head(std::size_t consumed);
  Step take_line(std::span<const std::uint8_t> in);
  Step body(std::span<const std::uint8_t> in, State next);

  Role role_;
  Limits limits_;
  State state_ = State::kStart;
  inspect::BoundedBuffer buffer_;
  std::size_t scan_from_ = 0;
  bool clear_next_ = false;  // the buffer held a completed unit: empty it on the next feed
  bool h2_ = false;
  bool chunked_ = false;
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::array<Method, 64> methods_{};  // ring of pending request methods (response side)
  std::size_t method_head_ = 0, method_count_ = 0;
  Method current_method_ = Method::kOther;
  std::string_view error_;
  Head head_;
  FrameHeader frame_;
};

}  // namespace wb::http
