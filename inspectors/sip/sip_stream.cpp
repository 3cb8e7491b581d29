#include "inspectors/sip/sip_stream.h"

#include <algorithm>

namespace wb::sip {
namespace {

constexpr std::string_view kEndOfHead = "\r\n\r\n";

std::span<char> as_chars(std::span<std::uint8_t> bytes) {
  return {reinterpret_cast<char*>(bytes.data()), bytes.size()};
}

}  // namespace

StreamParser::StreamParser(Limits limits)
    : limits_(limits), buffer_(limits.max_head_bytes + limits.max_body_bytes) {}

Step StreamParser::fail(std::string_view why, std::size_t consumed) {
  error_ = why;
  buffer_.clear();
  return {Step::Kind::kError, consumed};
}

Step StreamParser::feed(std::span<const std::uint8_t> in) {
  if (message_ready_) {
    message_ready_ = false;
    buffer_.clear();
    buffer_.shrink_if_above(64 * 1024);
    scan_from_ = head_size_ = total_size_ = 0;
  }
  if (!error_.empty()) return {Step::Kind::kError, in.size()};
  if (opaque_) return {Step::Kind::kOpaque, in.size()};

  // Between messages: CRLF keepalives. A double CRLF is a ping, a single CRLF the pong.
  if (buffer_.empty()) {
    if (in.empty()) return {Step::Kind::kNeedMore, 0};
    if (in[0] == '\r') {
      if (in.size() < 2) {
        buffer_.append(in, 1);
        return {Step::Kind::kNeedMore, 1};
      }
      if (in[1] != '\n') return fail("SIP stream has CR without LF between messages", 0);
      bool pair = in.size() >= 4 && in[2] == '\r' && in[3] == '\n';
      keepalive_bytes_ += pair ? 4 : 2;
      return {Step::Kind::kKeepalive, pair ? 4u : 2u};
    }
  } else if (buffer_.size() == 1 && buffer_.view()[0] == '\r') {
    // A keepalive split after its CR.
    if (in.empty()) return {Step::Kind::kNeedMore, 0};
    if (in[0] != '\n') return fail("SIP stream has CR without LF between messages", 0);
    buffer_.clear();
    keepalive_bytes_ += 2;
    return {Step::Kind::kKeepalive, 1};
  }

  // Take only what the current message can still need, so several messages in one read are
  // handed back one by one with exact consumed counts.
  std::size_t want =
      head_size_ ? total_size_ - buffer_.size()
                 : limits_.max_head_bytes - std::min(limits_.max_head_bytes, buffer_.size());
  std::size_t appended = buffer_.append(in, want);
  Step step = frame(appended);
  if (step.kind == Step::Kind::kNeedMore && head_size_ && step.consumed < in.size()) {
    // The head just completed inside this read: the body follows in the same bytes.
    std::size_t more = buffer_.append(in.subspan(step.consumed), total_size_ - buffer_.size());
    step = frame(step.consumed + more);
  }
  return step;
}

Step StreamParser::frame(std::size_t appended) {
  if (!head_size_) {
    std::string_view text = inspect::as_text(buffer_.view());
    std::size_t from = scan_from_ >= 3 ? scan_from_ - 3 : 0;
    auto end = text.find(kEndOfHead, from);
    if (end == std::string_view::npos) {
      scan_from_ = text.size();
      if (buffer_.size() >= limits_.max_head_bytes) {
        return fail("SIP head exceeds the header size limit", appended);
      }
      return {Step::Kind::kNeedMore, appended};
    }
    head_size_ = end + kEndOfHead.size();
    std::string_view error;
    auto head = as_chars(buffer_.mutable_view()).subspan(0, head_size_);
    if (parse_head(head, message_, error) != HeadStatus::kOk) return fail(error, appended);
    // Stream transports MUST carry Content-Length (RFC 3261 18.3): without it the message end is
    // unknowable.
    auto length = message_.header("Content-Length");
    if (!length) return fail("SIP message on a stream has no Content-Length", appended);
    auto body = inspect::parse_decimal(inspect::trim(*length), limits_.max_body_bytes);
    if (!body) return fail("SIP Content-Length invalid or over the body size limit", appended);
    total_size_ = head_size_ + *body;
    // Bytes appended beyond the head are body bytes or the next message: give back the excess.
    if (buffer_.size() > total_size_) {
      std::size_t excess = buffer_.size() - total_size_;
      buffer_.truncate(total_size_);
      appended -= excess;
    }
  }
  if (buffer_.size() < total_size_) return {Step::Kind::kNeedMore, appended};
  // The head views were taken before the body arrived; the buffer may have moved since.
  std::string_view error;
  auto all = as_chars(buffer_.mutable_view());
  if (parse_head(all.subspan(0, head_size_), message_, error) != HeadStatus::kOk) {
    return fail(error, appended);
  }
  message_.body = std::string_view(all.data() + head_size_, total_size_ - head_size_);
  message_ready_ = true;
  return {Step::Kind::kMessage, appended};
}

Step parse_datagram(std::span<char> datagram, Message& out, std::string_view& error) {
  std::string_view text(datagram.data(), datagram.size());
  // Datagrams may start with keepalive CRLFs too.
  std::size_t skip = 0;
  while (skip + 1 < text.size() && text[skip] == '\r' && text[skip + 1] == '\n') skip += 2;
  if (skip == text.size()) return {Step::Kind::kKeepalive, skip};
  auto end = text.find(kEndOfHead, skip);
  if (end == std::string_view::npos) {
    error = "SIP datagram has no end of head";
    return {Step::Kind::kError, 0};
  }
  std::size_t head_size = end + kEndOfHead.size();
  if (parse_head(datagram.subspan(skip, head_size - skip), out, error) != HeadStatus::kOk) {
    return {Step::Kind::kError, 0};
  }
  std::size_t body_size = text.size() - head_size;
  if (auto length = out.header("Content-Length")) {
    auto declared = inspect::parse_decimal(inspect::trim(*length), body_size);
    if (!declared) {
      error = "SIP Content-Length invalid or larger than the datagram";
      return {Step::Kind::kError, 0};
    }
    body_size = *declared;
  }
  out.body = std::string_view(datagram.data() + head_size, body_size);
  return {Step::Kind::kMessage, head_size + body_size};
}

}  // namespace wb::sip
