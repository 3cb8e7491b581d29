#include "inspectors/turn/turn_stream.h"

#include <algorithm>

#include "inspectors/turn/pseudo_tls.h"

namespace wb::turn {
namespace {

constexpr std::size_t kMsFrameHeader = 4;
constexpr std::size_t kMaxFrame = kHeaderSize + 0xffff;

}  // namespace

TurnStream::TurnStream(Role role) : role_(role), buffer_(kMaxFrame) {}

void TurnStream::expect(Format format) {
  if (state_ == State::kDetect && buffer_.empty()) format_ = format;
}

Event TurnStream::fail(std::string_view why, std::size_t consumed) {
  error_ = why;
  buffer_.clear();
  return {Event::Kind::kError, consumed};
}

Event TurnStream::feed(std::span<const std::uint8_t> in) {
  // A header completing mid-read leaves payload bytes in `in`: keep going until an event is
  // due, so that kNeedMore always means "everything was consumed".
  std::size_t total = 0;
  for (;;) {
    Event event = feed_once(in.subspan(total));
    total += event.consumed;
    if (event.kind != Event::Kind::kNeedMore || total == in.size() || event.consumed == 0) {
      event.consumed = total;
      return event;
    }
  }
}

Event TurnStream::feed_once(std::span<const std::uint8_t> in) {
  if (ready_) {
    ready_ = false;
    buffer_.clear();
    buffer_.shrink_if_above(4096);
  }
  if (!error_.empty()) return {Event::Kind::kError, in.size()};
  if (in.empty()) return {Event::Kind::kNeedMore, 0};

  switch (state_) {
    case State::kDetect: {
      std::uint8_t first = in[0];
      if (first == 0x16 && (format_ == Format::kUnknown || format_ == Format::kMsTurnPseudoTls)) {
        format_ = Format::kMsTurnPseudoTls;
        state_ = State::kHello;
        need_ = role_ == Role::kClient ? kPseudoTlsClientSize : kPseudoTlsServerSize;
      } else if ((first == 0x02 || first == 0x03) && format_ != Format::kStun) {
        format_ = Format::kMsTurn;
        state_ = State::kHeader;
        need_ = kMsFrameHeader;
      } else if ((first <= 0x03 || (first >= 0x40 && first <= 0x7f)) &&
                 format_ != Format::kMsTurn && format_ != Format::kMsTurnPseudoTls) {
        // 0-3 STUN; 0x40-0x7f ChannelData (RFC 5766 channels 0x4000-0x7FFF; RFC 8656 and
        // RFC 7983 narrow this to 0x4000-0x4FFF, but RFC 5766 servers such as coturn use it all).
        format_ = Format::kStun;
        state_ = State::kHeader;
        need_ = 4;
      } else {
        return fail("not a TURN stream (unknown first byte)", 0);
      }
      return feed_once(in);
    }
    case State::kHello: {
      std::size_t taken = buffer_.append(in, need_ - buffer_.size());
      auto check = role_ == Role::kClient ? check_pseudo_tls_client(buffer_.view())
                                          : check_pseudo_tls_server(buffer_.view());
      if (check == HelloCheck::kMismatch) return fail("malformed MS-TURN pseudo-TLS hello", taken);
      if (check == HelloCheck::kNeedMore) return {Event::Kind::kNeedMore, taken};
      ready_ = true;
      state_ = State::kHeader;
      need_ = kMsFrameHeader;
      return {Event::Kind::kPseudoTls, taken};
    }
    case State::kHeader: {
      std::size_t taken = buffer_.append(in, need_ - buffer_.size());
      if (buffer_.size() < need_) return {Event::Kind::kNeedMore, taken};
      return on_header_complete(taken);
    }
    case State::kBody: {
      std::size_t taken = buffer_.append(in, need_ - buffer_.size());
      if (buffer_.size() < need_) return {Event::Kind::kNeedMore, taken};
      return on_body_complete(taken);
    }
    case State::kSkip: {
      std::size_t taken = std::min(skip_, in.size());
      skip_ -= taken;
      if (skip_ > 0) return {Event::Kind::kNeedMore, taken};
      state_ = State::kHeader;
      need_ = format_ == Format::kStun ? 4 : kMsFrameHeader;
      Event done{channel_ ? Event::Kind::kChannelData : Event::Kind::kData, taken, channel_,
                 skip_size_};
      return done;
    }
  }
  return fail("TURN stream in an impossible state", 0);
}

Event TurnStream::on_header_complete(std::size_t consumed) {
  Bytes header = buffer_.view();
  if (format_ != Format::kStun) {
    // MS-TURN TCP framing: type | 0 | length.
    std::uint8_t type = header[0];
    std::size_t length = inspect::be16(header, 2);
    if ((type != 0x02 && type != 0x03) || header[1] != 0) {
      return fail("MS-TURN frame type is neither control (2) nor data (3)", consumed);
    }
    buffer_.clear();
    if (type == 0x03) {
      channel_ = 0;
      skip_ = skip_size_ = length;
      if (length == 0) return {Event::Kind::kData, consumed, 0, 0};
      state_ = State::kSkip;
      return {Event::Kind::kNeedMore, consumed};
    }
    if (length < kHeaderSize) return fail("MS-TURN control frame shorter than a message", consumed);
    state_ = State::kBody;
    need_ = length;
    return {Event::Kind::kNeedMore, consumed};
  }
  if ((header[0] & 0xc0) == 0x40) {
    // ChannelData: channel(2) length(2), payload padded to 4 on stream transports.
    channel_ = inspect::be16(header, 0);
    std::size_t length = inspect::be16(header, 2);
    buffer_.clear();
    skip_size_ = length;
    skip_ = (length + 3) / 4 * 4;
    if (skip_ == 0) {
      state_ = State::kHeader;
      need_ = 4;
      return {Event::Kind::kChannelData, consumed, channel_, 0};
    }
    state_ = State::kSkip;
    return {Event::Kind::kNeedMore, consumed};
  }
  if ((header[0] & 0xc0) != 0)
    return fail("TURN stream byte is neither STUN nor ChannelData", consumed);
  std::size_t length = inspect::be16(header, 2);
  if (length % 4) return fail("STUN length is not a multiple of 4", consumed);
  state_ = State::kBody;
  need_ = kHeaderSize + length;  // the 4 bytes read so far stay in the buffer
  return {Event::Kind::kNeedMore, consumed};
}

Event TurnStream::on_body_complete(std::size_t consumed) {
  state_ = State::kHeader;
  need_ = format_ == Format::kStun ? 4 : kMsFrameHeader;
  Dialect dialect = format_ == Format::kStun ? Dialect::kRfc5389 : Dialect::kMsTurn;
  std::string_view error;
  if (decode(buffer_.view(), dialect, message_, error) != DecodeStatus::kOk) {
    return fail(error, consumed);
  }
  ready_ = true;
  return {Event::Kind::kMessage, consumed};
}

}  // namespace wb::turn
