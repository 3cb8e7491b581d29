// The classifier proper: runs the detectors in priority order over at most kMaxPeekBytes and
// combines their answers so the result is monotonic over growing prefixes (see peek.h).
#include <algorithm>
#include <initializer_list>

#include "agent/peek/detectors.h"
#include "agent/peek/reader.h"

namespace wb::peek {
namespace {

using detail::Bytes;
using Detector = Peek (*)(Bytes);

// First detector (in priority order) still needing bytes stops the search, so a lower-priority
// match can never pre-empt a higher-priority one that would have matched with more bytes.
// The priorities matter where formats overlap: pseudo-TLS is also a valid TLS hello; the
// HTTP/2 preface starts like a request line; ChannelData numbers are ASCII letters.
Peek combine(Bytes in, std::initializer_list<Detector> detectors) {
  const bool capped = in.size() >= kMaxPeekBytes;
  in = in.first(std::min(in.size(), kMaxPeekBytes));
  for (Detector detect : detectors) {
    Peek p = detect(in);
    if (p.need_more()) {
      if (!capped) return p;
      return detail::failed(Kind::kUnknown, "no decision within the 64 KiB peek cap");
    }
    if (!detail::is_not_mine(p)) return p;
  }
  Peek unknown = detail::not_mine();
  unknown.error = in.empty() ? "" : "no known protocol";
  return unknown;
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kUnknown:
      return "unknown";
    case Kind::kTls:
      return "tls";
    case Kind::kPseudoTls:
      return "pseudo-tls";
    case Kind::kSip:
      return "sip";
    case Kind::kHttp1:
      return "http/1";
    case Kind::kHttp2:
      return "http/2";
    case Kind::kStun:
      return "stun";
    case Kind::kMsTurn:
      return "ms-turn";
    case Kind::kTurnChannel:
      return "turn-channel";
  }
  return "unknown";
}

std::uint16_t ClientHello::max_version() const {
  std::uint16_t best = 0;
  for (std::uint16_t v : supported_versions) {
    if (!detail::is_grease(v)) best = std::max(best, v);
  }
  return best != 0 ? best : legacy_version;
}

Peek parse_client_hello(Bytes bytes) {
  return combine(bytes, {detail::detect_pseudo_tls_client, detail::detect_tls_client_hello,
                         detail::detect_sslv2_client_hello});
}

Peek classify_client(Bytes bytes) {
  return combine(bytes, {detail::detect_pseudo_tls_client, detail::detect_tls_client_hello,
                         detail::detect_sslv2_client_hello, detail::detect_http2_preface,
                         detail::detect_start_line, detail::detect_ms_turn_framed,
                         detail::detect_stun, detail::detect_channel_data});
}

Peek classify_server(Bytes bytes) {
  return combine(bytes,
                 {detail::detect_pseudo_tls_server, detail::detect_tls_server_hello,
                  detail::detect_http2_settings, detail::detect_start_line,
                  detail::detect_ms_turn_framed, detail::detect_stun, detail::detect_channel_data});
}

}  // namespace wb::peek
