#include "inspectors/http/http_stream.h"

#include <algorithm>

namespace wb::http {
namespace {

using inspect::iequals;
using inspect::trim;

constexpr std::size_t kMaxLine = 1024;  // chunk-size and trailer lines
constexpr std::string_view kPrefaceTail = "SM\r\n\r\n";

bool valid_version(std::string_view version) {
  return version == "HTTP/1.1" || version == "HTTP/1.0";
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool parse_head(std::string_view text, Head& head, std::string_view& error) {
  head = Head{};
  auto end = text.find("\r\n");
  std::string_view line = text.substr(0, end);
  if (line.substr(0, 5) == "HTTP/") {
    head.is_request = false;
    head.version = line.substr(0, line.find(' '));
    if (!valid_version(head.version) || line.size() < head.version.size() + 4) {
      return error = "HTTP status line malformed", false;
    }
    auto code = inspect::parse_decimal(line.substr(head.version.size() + 1, 3), 999);
    if (!code || *code < 100) return error = "HTTP status code is not 100..999", false;
    head.status = static_cast<int>(*code);
    std::size_t reason_at = head.version.size() + 5;
    head.reason = reason_at <= line.size() ? line.substr(reason_at) : std::string_view{};
  } else {
    head.is_request = true;
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return error = "HTTP request line malformed", false;
    head.method = line.substr(0, sp1);
    head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    head.version = line.substr(sp2 + 1);
    if (head.method.empty() || !std::all_of(head.method.begin(), head.method.end(), is_tchar)) {
      return error = "HTTP method is not a token", false;
    }
    if (head.target.empty()) return error = "HTTP request target empty", false;
    bool preface = head.method == "PRI" && head.target == "*" && head.version == "HTTP/2.0";
    if (!preface && !valid_version(head.version))
      return error = "HTTP version is not 1.0/1.1", false;
  }
  std::size_t pos = end + 2;
  while (pos < text.size()) {
    auto next = text.find("\r\n", pos);
    if (next == std::string_view::npos || next == pos) break;
    std::string_view header = text.substr(pos, next - pos);
    if (header.front() == ' ' || header.front() == '\t') {
      return error = "HTTP obsolete line folding", false;  // RFC 9112 5.2: may be rejected
    }
    auto colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return error = "HTTP header without a name", false;
    std::string_view name = header.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar))
      return error = "HTTP header name invalid", false;
    if (head.header_count == kMaxHeaders) return error = "too many HTTP headers", false;
    head.headers.push_back(Header{name, trim(header.substr(colon + 1))});
    head.header_count = head.headers.size();
    pos = next + 2;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> Head::header(std::string_view name) const {
  for (std::size_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return headers[i].value;
  }
  return std::nullopt;
}

HttpStream::HttpStream(Role role, Limits limits)
    : role_(role), limits_(limits), buffer_(limits.max_head_bytes) {}

void HttpStream::push_request(std::string_view method) {
  if (method_count_ == methods_.size()) return;  // past 64 pipelined requests: assume GET-like
  Method kind = method == "HEAD"      ? Method::kHead
                : method == "CONNECT" ? Method::kConnect
                                      : Method::kOther;
  methods_[(method_head_ + method_count_++) % methods_.size()] = kind;
}

void HttpStream::use_h2() {
  if (state_ == State::kStart && role_ == Role::kResponse) {
    h2_ = true;
    state_ = State::kH2Header;
  }
}

bool HttpStream::holding() const {
  return state_ == State::kStart || state_ == State::kHead || state_ == State::kH2Header ||
         state_ == State::kPreface;
}

Step HttpStream::fail(std::string_view why, std::size_t consumed) {
  error_ = why;
  state_ = State::kError;
  clear_next_ = true;  // held() stays readable for this step, then goes
  return {Step::Kind::kError, consumed};
}

Step HttpStream::feed(std::span<const std::uint8_t> in) {
  // Some units complete without an event of their own (the "PRI" line of the h2 preface): keep
  // going so that kNeedMore always means "everything was consumed".
  std::size_t total = 0;
  for (;;) {
    Step step = feed_once(in.subspan(total));
    total += step.consumed;
    if (step.kind != Step::Kind::kNeedMore || total == in.size() || step.consumed == 0) {
      step.consumed = total;
      return step;
    }
  }
}

Step HttpStream::feed_once(std::span<const std::uint8_t> in) {
  if (clear_next_) {
    clear_next_ = false;
    buffer_.clear();
    scan_from_ = 0;
  }
  if (state_ == State::kError) return {Step::Kind::kError, in.size()};
  if (in.empty()) return {Step::Kind::kNeedMore, 0};

  switch (state_) {
    case State::kStart:
      if (role_ == Role::kResponse && in[0] != 'H') {
        // Not a status line: the server speaks HTTP/2 first (ALPN h2 and its SETTINGS frame).
        h2_ = true;
        state_ = State::kH2Header;
      } else {
        state_ = State::kHead;
      }
      return feed_once(in);
    case State::kHead: {
      std::size_t taken = buffer_.append(in, limits_.max_head_bytes - buffer_.size());
      std::string_view text = head_bytes();
      auto end = text.find("\r\n\r\n", scan_from_ >= 3 ? scan_from_ - 3 : 0);
      if (end == std::string_view::npos) {
        scan_from_ = text.size();
        if (buffer_.size() >= limits_.max_head_bytes)
          return fail("HTTP head over the size limit", taken);
        return {Step::Kind::kNeedMore, taken};
      }
      std::size_t head_size = end + 4;
      std::size_t excess = buffer_.size() - head_size;
      buffer_.truncate(head_size);
      return on_head(taken - excess);
    }
    case State::kBody:
      return body(in, State::kStart);
    case State::kChunkData:
      return body(in, State::kChunkCrlf);
    case State::kChunkSize:
    case State::kChunkCrlf:
    case State::kTrailers:
      return take_line(in);
    case State::kUntilClose:
      body_bytes_ += in.size();
      return {Step::Kind::kBody, in.size()};
    case State::kTunnel:
      return {Step::Kind::kTunnel, in.size()};
    case State::kPreface: {
      std::size_t taken = buffer_.append(in, kPrefaceTail.size() - buffer_.size());
      std::string_view text = head_bytes();
      if (text != kPrefaceTail.substr(0, text.size()))
        return fail("HTTP/2 preface malformed", taken);
      if (text.size() < kPrefaceTail.size()) return {Step::Kind::kNeedMore, taken};
      clear_next_ = true;
      h2_ = true;
      state_ = State::kH2Header;
      return {Step::Kind::kH2Preface, taken};
    }
    case State::kH2Header: {
      std::size_t taken = buffer_.append(in, 9 - buffer_.size());
      if (buffer_.size() < 9) return {Step::Kind::kNeedMore, taken};
      inspect::Bytes bytes = buffer_.view();
      frame_.length = (std::uint32_t{bytes[0]} << 16) | (std::uint32_t{bytes[1]} << 8) | bytes[2];
      frame_.type = bytes[3];
      frame_.flags = bytes[4];
      frame_.stream_id = inspect::be32(bytes, 5) & 0x7fffffffu;
      clear_next_ = true;
      remaining_ = frame_.length;
      state_ = remaining_ ? State::kH2Payload : State::kH2Header;
      return {Step::Kind::kH2FrameHeader, taken};
    }
    case State::kH2Payload: {
      std::size_t taken = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      remaining_ -= taken;
      if (remaining_ == 0) state_ = State::kH2Header;
      return {Step::Kind::kH2Payload, taken};
    }
    case State::kError:
      break;
  }
  return fail("HTTP stream in an impossible state", 0);
}

Step HttpStream::body(std::span<const std::uint8_t> in, State next) {
  std::size_t taken = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
  remaining_ -= taken;
  body_bytes_ += taken;
  if (remaining_ > 0) return {Step::Kind::kBody, taken};
  state_ = next;
  if (next == State::kChunkCrlf) return {Step::Kind::kBody, taken};
  return {Step::Kind::kBody, taken, true};
}

// Chunk-size lines, the CRLF after chunk data, and trailer lines: short lines, buffered.
Step HttpStream::take_line(std::span<const std::uint8_t> in) {
  std::size_t taken = 0;
  while (taken < in.size()) {
    if (buffer_.size() >= kMaxLine) return fail("HTTP chunk line over 1 KiB", taken);
    buffer_.append(in.subspan(taken, 1), 1);
    ++taken;
    if (in[taken - 1] == '\n') break;
  }
  std::string_view line = head_bytes();
  if (line.empty() || line.back() != '\n') return {Step::Kind::kBody, taken};
  buffer_.clear();
  if (line.size() < 2 || line[line.size() - 2] != '\r')
    return fail("HTTP chunk line not ended by CRLF", taken);
  line.remove_suffix(2);
  if (state_ == State::kChunkCrlf) {
    if (!line.empty()) return fail("HTTP chunk data not followed by CRLF", taken);
    state_ = State::kChunkSize;
    return {Step::Kind::kBody, taken};
  }
  if (state_ == State::kTrailers) {
    if (!line.empty()) return {Step::Kind::kBody, taken};
    state_ = State::kStart;
    return {Step::Kind::kBody, taken, true};
  }
  auto size = inspect::parse_hex(trim(line.substr(0, line.find(';'))), std::uint64_t{1} << 40);
  if (!size) return fail("HTTP chunk size invalid", taken);
  if (*size == 0) {
    state_ = State::kTrailers;
  } else {
    remaining_ = *size;
    state_ = State::kChunkData;
  }
  return {Step::Kind::kBody, taken};
}

Step HttpStream::on_head(std::size_t consumed) {
  std::string_view error;
  if (!parse_head(head_bytes(), head_, error)) return fail(error, consumed);
  clear_next_ = true;
  body_bytes_ = 0;
  chunked_ = false;
  remaining_ = 0;
  if (head_.is_request && head_.method == "PRI") {
    // "PRI * HTTP/2.0\r\n\r\n" is the first part of the HTTP/2 connection preface.
    buffer_.clear();
    clear_next_ = false;
    state_ = State::kPreface;
    return {Step::Kind::kNeedMore, consumed};
  }
  bool no_body = false;
  if (head_.is_request) {
    if (head_.method == "CONNECT") {
      state_ = State::kTunnel;
      return {Step::Kind::kHead, consumed, true};
    }
  } else {
    if (head_.status < 200 && head_.status != 101) {
      state_ = State::kStart;  // interim response: the final one follows
      return {Step::Kind::kHead, consumed, true};
    }
    current_method_ = Method::kOther;
    if (method_count_) {
      current_method_ = methods_[method_head_];
      method_head_ = (method_head_ + 1) % methods_.size();
      --method_count_;
    }
    if (head_.status == 101 || (current_method_ == Method::kConnect && head_.status < 300)) {
      state_ = State::kTunnel;
      return {Step::Kind::kHead, consumed, true};
    }
    no_body = current_method_ == Method::kHead || head_.status == 204 || head_.status == 304;
  }
  auto encoding = head_.header("Transfer-Encoding");
  auto length = head_.header("Content-Length");
  if (no_body) {
    state_ = State::kStart;
  } else if (encoding && inspect::icontains(*encoding, "chunked")) {
    chunked_ = true;
    state_ = State::kChunkSize;
  } else if (length) {
    auto value = inspect::parse_decimal(trim(*length), std::uint64_t{1} << 50);
    if (!value) return fail("HTTP Content-Length invalid", consumed);
    remaining_ = *value;
    state_ = remaining_ ? State::kBody : State::kStart;
    no_body = remaining_ == 0;
  } else if (head_.is_request) {
    state_ = State::kStart;  // requests without length have no body (RFC 9112 6.3)
    no_body = true;
  } else {
    state_ = State::kUntilClose;
  }
  return {Step::Kind::kHead, consumed, no_body};
}

}  // namespace wb::http
