// STUN family on a stream: RFC 5389/8489 STUN/TURN (magic cookie), Microsoft MS-TURN messages
// (draft-02 header with a MAGIC-COOKIE attribute first, [MS-TURN] 2.2) with or without the MS-TURN
// 4-byte TCP framing, and TURN ChannelData (RFC 8656 12.4).
//
// Decisions use fixed offsets only (cookie at 4, MAGIC-COOKIE attribute at 20), then the whole
// message must be present and its attribute walk must end exactly at its length.
#include "agent/peek/detectors.h"
#include "agent/peek/reader.h"

namespace wb::peek::detail {
namespace {

constexpr std::size_t kHeader = 20;
constexpr std::uint8_t kCookie[] = {0x21, 0x12, 0xa4, 0x42};
// MAGIC-COOKIE attribute: type 0x000F, length 4, value 0x72C64BC6.
constexpr std::uint8_t kMsCookieAttr[] = {0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6};
constexpr std::uint8_t kFrameControl = 0x02, kFrameData = 0x03;
constexpr std::size_t kFrameHeader = 4;
constexpr std::size_t kMaxChannelData = 1500;  // media-sized; larger lengths are ASCII text

enum class Match { kNo, kMore, kYes };

// Compares the bytes available at `at` against `want`.
template <std::size_t N>
Match fixed(Bytes in, std::size_t at, const std::uint8_t (&want)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (at + i >= in.size()) return Match::kMore;
    if (in[at + i] != want[i]) return Match::kNo;
  }
  return Match::kYes;
}

// RFC 5389 pads attributes to 4 bytes, MS-TURN does not: either walk must end exactly.
bool attributes_fit(Bytes message, bool padded) {
  std::size_t at = kHeader;
  while (at < message.size()) {
    if (message.size() - at < 4) return false;
    std::size_t len = be16(message, at + 2);
    if (padded) len = (len + 3) & ~std::size_t{3};
    if (message.size() - at - 4 < len) return false;
    at += 4 + len;
  }
  return at == message.size();
}

// A STUN-family message starting at `at` (inside a frame of `frame_len` bytes if framed).
// `require_ms` insists on the MAGIC-COOKIE attribute (MS-TURN control frames).
Peek message(Bytes in, std::size_t at, bool require_ms) {
  if (in.size() <= at) return need_more();
  if ((in[at] & 0xc0) != 0) return not_mine();
  const Match cookie = fixed(in, at + 4, kCookie);
  if (cookie == Match::kMore) return need_more();
  const std::size_t total = kHeader + be16(in, at + 2);
  // Without the RFC 5389 cookie only an MS-TURN message (type 0x00xx/0x01xx with the
  // MAGIC-COOKIE attribute first) qualifies; a banner such as "220 ..." fails right here.
  if (cookie == Match::kNo && in[at] > 0x01) return not_mine();
  const Match ms =
      total >= kHeader + sizeof kMsCookieAttr ? fixed(in, at + kHeader, kMsCookieAttr) : Match::kNo;
  if (ms == Match::kNo && (cookie == Match::kNo || require_ms)) return not_mine();
  if (ms == Match::kMore) return need_more();
  if (at + total > kMaxPeekBytes) return not_mine();
  if (in.size() < at + total) return need_more();
  const Bytes msg = in.subspan(at, total);
  const bool is_ms = ms == Match::kYes;
  const Kind kind = is_ms ? Kind::kMsTurn : Kind::kStun;
  if (!attributes_fit(msg, true) && !attributes_fit(msg, false)) {
    return failed(kind, "STUN attributes do not fill the message length");
  }
  Peek p = found(kind, at + total);
  p.stun.type = be16(msg, 0);
  p.stun.length = be16(msg, 2);
  p.stun.cookie = cookie == Match::kYes;
  p.stun.ms_magic_cookie = is_ms;
  return p;
}

}  // namespace

Peek detect_stun(Bytes in) {
  return message(in, 0, false);
}

// MS-TURN TCP framing: type (0x02 control, 0x03 data) | 0x00 | length, then one message.
Peek detect_ms_turn_framed(Bytes in) {
  if (in.empty()) return need_more();
  if (in[0] != kFrameControl && in[0] != kFrameData) return not_mine();
  if (in.size() < 2) return need_more();
  if (in[1] != 0) return not_mine();
  if (in.size() < kFrameHeader) return need_more();
  const std::size_t frame_len = be16(in, 2);
  if (frame_len < kHeader) return not_mine();
  // The message inside must fill the frame exactly.
  if (in.size() < kFrameHeader + 4) return need_more();
  if (kHeader + be16(in, kFrameHeader + 2) != frame_len) return not_mine();
  Peek p = message(in, kFrameHeader, in[0] == kFrameControl);
  if (p.need_more() || is_not_mine(p)) return p;
  p.kind = Kind::kMsTurn;
  p.stun.frame_type = in[0];
  return p;
}

// ChannelData: channel 0x4000-0x4FFF, length, data padded to 4 bytes on streams.
Peek detect_channel_data(Bytes in) {
  if (in.empty()) return need_more();
  if (in[0] < 0x40 || in[0] > 0x4f) return not_mine();
  if (in.size() < 4) return need_more();
  const std::size_t len = be16(in, 2);
  if (len > kMaxChannelData) return not_mine();
  const std::size_t total = 4 + ((len + 3) & ~std::size_t{3});
  if (in.size() < total) return need_more();
  Peek p = found(Kind::kTurnChannel, total);
  p.stun.channel = be16(in, 0);
  p.stun.length = static_cast<std::uint16_t>(len);
  return p;
}

}  // namespace wb::peek::detail
