// Text protocols: the start line of SIP (RFC 3261 7.1/7.2) and HTTP/1.x (RFC 9112 3/4), and the
// HTTP/2 connection preface / first SETTINGS frame (RFC 9113 3.4).
//
// The line is judged byte by byte so binary data is rejected at its first impossible byte, and
// a line that is still a valid prefix asks for more (up to kMaxLine). SIP and HTTP share the
// grammar; the protocol version at the end of a request line (or the start of a status line)
// tells them apart, so extension methods such as Microsoft's SERVICE, BENOTIFY and NEGOTIATE
// need no list.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "agent/peek/detectors.h"
#include "agent/peek/reader.h"

namespace wb::peek::detail {
namespace {

constexpr std::size_t kMaxLine = 8192;  // longer start lines are not what we look for
constexpr std::size_t kMaxMethod = 32;  // longest registered methods are ~17 characters
constexpr std::string_view kVersions[] = {"SIP/2.0", "HTTP/1.1", "HTTP/1.0"};

bool is_tchar(std::uint8_t c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_target_char(std::uint8_t c) {
  return c > 0x20 && c != 0x7f;
}  // VCHAR / obs-text
bool is_reason_char(std::uint8_t c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// SIP versions compare case-insensitively (RFC 3261 7.1), HTTP ones exactly (RFC 9112 2.3).
bool version_char_ok(std::string_view version, std::size_t i, std::uint8_t c) {
  if (i >= version.size()) return false;
  if (version[0] == 'S') return std::toupper(c) == version[i];
  return c == static_cast<std::uint8_t>(version[i]);
}
// Is `got` a prefix of some version? Which one, when complete?
bool version_prefix(std::string_view got, std::string_view* complete) {
  bool any = false;
  for (std::string_view v : kVersions) {
    bool ok = got.size() <= v.size();
    for (std::size_t i = 0; ok && i < got.size(); ++i) {
      ok = version_char_ok(v, i, static_cast<std::uint8_t>(got[i]));
    }
    if (!ok) continue;
    any = true;
    if (complete != nullptr && got.size() == v.size()) *complete = v;
  }
  return any;
}

enum class Verdict { kReject, kMore, kAccept };

// Request line: method SP target SP version CRLF.
Verdict request_line(std::string_view s, StartLine& out) {
  std::size_t i = 0;
  while (i < s.size() && s[i] != ' ') {
    if (!is_tchar(static_cast<std::uint8_t>(s[i])) || i >= kMaxMethod) return Verdict::kReject;
    ++i;
  }
  if (i == s.size()) return Verdict::kMore;
  if (i == 0) return Verdict::kReject;
  const std::size_t target = i + 1;
  std::size_t j = target;
  while (j < s.size() && s[j] != ' ') {
    if (!is_target_char(static_cast<std::uint8_t>(s[j]))) return Verdict::kReject;
    ++j;
  }
  if (j == s.size()) return Verdict::kMore;
  if (j == target) return Verdict::kReject;
  const std::size_t version = j + 1;
  std::size_t k = version;
  while (k < s.size() && s[k] != '\r' && s[k] != '\n') ++k;
  std::string_view complete;
  if (!version_prefix(s.substr(version, k - version), &complete)) return Verdict::kReject;
  if (k == s.size()) return Verdict::kMore;
  if (complete.empty()) return Verdict::kReject;
  if (s[k] == '\r' && k + 1 == s.size()) return Verdict::kMore;
  if (s[k] == '\r' && s[k + 1] != '\n') return Verdict::kReject;
  out.method = std::string(s.substr(0, i));
  out.target = std::string(s.substr(target, j - target));
  out.version = std::string(complete);
  return Verdict::kAccept;
}

// Status line: version SP 3DIGIT [SP reason] CRLF.
Verdict status_line(std::string_view s, StartLine& out) {
  std::size_t i = 0;
  while (i < s.size() && s[i] != ' ') ++i;
  std::string_view complete;
  if (!version_prefix(s.substr(0, i), &complete)) return Verdict::kReject;
  if (i == s.size()) return Verdict::kMore;
  if (complete.empty()) return Verdict::kReject;
  int code = 0;
  for (std::size_t d = 1; d <= 3; ++d) {
    if (i + d >= s.size()) return Verdict::kMore;
    if (std::isdigit(static_cast<std::uint8_t>(s[i + d])) == 0) return Verdict::kReject;
    code = code * 10 + (s[i + d] - '0');
  }
  std::size_t k = i + 4;
  if (k < s.size() && s[k] == ' ') {
    ++k;
    while (k < s.size() && is_reason_char(static_cast<std::uint8_t>(s[k]))) ++k;
  }
  if (k == s.size()) return Verdict::kMore;
  if (s[k] == '\r' && k + 1 == s.size()) return Verdict::kMore;
  if (!(s[k] == '\n' || (s[k] == '\r' && s[k + 1] == '\n'))) return Verdict::kReject;
  out.version = std::string(complete);
  out.status = code;
  return Verdict::kAccept;
}

}  // namespace

Peek detect_start_line(Bytes in) {
  // Leading empty lines: SIP keepalives (RFC 5626 CRLFCRLF) and RFC 9112 2.2 tolerance.
  std::size_t start = 0;
  while (start < in.size() && (in[start] == '\r' || in[start] == '\n')) ++start;
  if (start == in.size()) return need_more();
  const auto* text = reinterpret_cast<const char*>(in.data());
  const std::size_t avail = std::min(in.size() - start, kMaxLine);
  std::string_view line(text + start, avail);
  if (const std::size_t nl = line.find('\n'); nl != std::string_view::npos) {
    line = line.substr(0, nl + 1);
  }
  StartLine parsed;
  Verdict req = request_line(line, parsed);
  Verdict st = req == Verdict::kAccept ? Verdict::kReject : status_line(line, parsed);
  if (req != Verdict::kAccept && st != Verdict::kAccept) {
    // A line still short of kMaxLine may yet complete; one that reached it never will.
    const bool more = req == Verdict::kMore || st == Verdict::kMore;
    return more && line.size() < kMaxLine ? need_more() : not_mine();
  }
  Peek p = found(parsed.version[0] == 'S' ? Kind::kSip : Kind::kHttp1, start + line.size());
  p.line = std::move(parsed);
  return p;
}

Peek detect_http2_preface(Bytes in) {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  for (std::size_t i = 0; i < kPreface.size(); ++i) {
    if (i >= in.size()) return need_more();
    if (in[i] != static_cast<std::uint8_t>(kPreface[i])) return not_mine();
  }
  return found(Kind::kHttp2, kPreface.size());
}

// A server's first HTTP/2 frame is SETTINGS on stream 0 (RFC 9113 3.4), without ACK.
Peek detect_http2_settings(Bytes in) {
  constexpr std::size_t kFrameHeader = 9;
  constexpr std::uint8_t kSettings = 0x04;
  if (in.size() < kFrameHeader) {
    // Judge what is there: type, flags and stream id at fixed offsets.
    if (in.size() > 3 && in[3] != kSettings) return not_mine();
    if (in.size() > 4 && in[4] != 0) return not_mine();
    for (std::size_t i = 5; i < in.size(); ++i) {
      if (in[i] != 0) return not_mine();
    }
    return need_more();
  }
  const std::uint32_t len = be24(in, 0);
  if (in[3] != kSettings || in[4] != 0 || be16(in, 5) != 0 || be16(in, 7) != 0 || len % 6 != 0 ||
      len > 16384) {
    return not_mine();
  }
  if (in.size() < kFrameHeader + len) return need_more();
  return found(Kind::kHttp2, kFrameHeader + len);
}

}  // namespace wb::peek::detail
