// Internal to wb_peek: one detector per protocol family. Each looks only at the bytes it is given
// (already cut to kMaxPeekBytes) and answers with a Peek whose meaning is:
//   kNeedMore          - could still be this protocol, needs more bytes;
//   kDone + kUnknown   - "not mine" (decided from bytes already seen, so it stays that way);
//   kDone + a kind     - recognised;
//   kError + a kind    - it is this protocol but malformed.
// Every answer other than kNeedMore depends only on bytes inside the span, which is what makes
// the combined classifier monotonic over growing prefixes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "agent/peek/peek.h"

namespace wb::peek::detail {

using Bytes = std::span<const std::uint8_t>;

inline Peek need_more() {
  return Peek{};
}
inline Peek not_mine() {
  Peek p;
  p.status = Status::kDone;
  return p;
}
inline Peek failed(Kind kind, std::string why) {
  Peek p;
  p.status = Status::kError;
  p.kind = kind;
  p.error = std::move(why);
  return p;
}
inline Peek found(Kind kind, std::size_t consumed) {
  Peek p;
  p.status = Status::kDone;
  p.kind = kind;
  p.consumed = consumed;
  return p;
}
// "not mine" is kDone without a kind.
inline bool is_not_mine(const Peek& p) {
  return p.done() && p.kind == Kind::kUnknown;
}

// TLS family (tls_hello.cpp, tls_sslv2.cpp).
Peek detect_pseudo_tls_client(Bytes in);
Peek detect_pseudo_tls_server(Bytes in);
Peek detect_tls_client_hello(Bytes in);  // TLS records (leading 1-byte CCS records skipped)
Peek detect_sslv2_client_hello(Bytes in);
Peek detect_tls_server_hello(Bytes in);

// Text start lines (start_line.cpp).
Peek detect_start_line(Bytes in);  // SIP request/status, HTTP/1.x request/status
Peek detect_http2_preface(Bytes in);
Peek detect_http2_settings(Bytes in);

// STUN family (stun.cpp).
Peek detect_ms_turn_framed(Bytes in);
Peek detect_stun(Bytes in);  // RFC 5389 cookie, or an MS-TURN message (MAGIC-COOKIE attribute)
Peek detect_channel_data(Bytes in);

}  // namespace wb::peek::detail
