// First-bytes classifier: what does a connection (or the first decrypted bytes inside TLS) carry?
//
// Style of picohttpparser / Envoy's tls_inspector: a span in, a result out, no I/O, no state
// between calls. The caller keeps the bytes it has received so far (up to kMaxPeekBytes) and calls
// again with the longer buffer whenever a TCP segment arrives, until the status is not kNeedMore.
//
// Guarantees (tested at every prefix length of every sample and fuzzed):
// - never reads past the span; looks at no more than kMaxPeekBytes of it;
// - monotonic: a kDone or kError answer for a prefix is the answer for every longer input, so a
//   caller may stop reading as soon as it gets one ("never a wrong answer on truncated input");
// - the input is never copied or reassembled: a ClientHello spread over several TLS records is
//   walked in place record by record. Only the small extracted fields (SNI, ALPN, lists) are owned
//   by the result, so the caller may reuse its buffer afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wb::peek {

// The most the agent reads before it must decide (the usual ClientHello bound).
inline constexpr std::size_t kMaxPeekBytes = 64 * 1024;

// What the bytes are, on the wire.
enum class Kind : std::uint8_t {
  kUnknown = 0,  // nothing recognised (for a server speaking first: an unknown banner)
  kTls,          // real TLS: a ClientHello (client side) or a ServerHello (server side)
  kPseudoTls,    // Microsoft MS-TURN "pseudo-TLS" hello on TCP 443 (not real TLS)
  kSip,          // SIP request or status line
  kHttp1,        // HTTP/1.x request line (client) or status line (server)
  kHttp2,        // HTTP/2 connection preface (client) or SETTINGS frame (server)
  kStun,         // STUN/TURN message with the RFC 5389 magic cookie
  kMsTurn,       // MS-TURN: 4-byte TCP framing (0x02/0x03), or a message with MAGIC-COOKIE attr
  kTurnChannel,  // TURN ChannelData (channel 0x4000-0x4FFF)
};
// Stable lower-case names: "unknown", "tls", "pseudo-tls", "sip", "http/1", "http/2", "stun",
// "ms-turn", "turn-channel".
std::string_view kind_name(Kind kind);

// The protocol as operators see it (HTTPS, SIPS, MS-TURN, TUNNEL, ...) is the session's
// (agent/session/session_types.h: session::Protocol and its labels); the policy maps what this
// classifier found to it (agent/policy/first_bytes.h, Policy::decide_plaintext/decide_inner).

enum class Status : std::uint8_t {
  kNeedMore = 0,  // every protocol still possible needs more bytes; call again with more
  kDone,          // decided: `kind` (possibly kUnknown) is the answer
  kError,         // the bytes claim `kind` but are malformed, or no decision within the cap
};

// Every field a TLS (or SSLv2-compatible, or pseudo-TLS) ClientHello gives us.
struct ClientHello {
  std::uint16_t record_version = 0;  // first record's version (0x0002 for an SSLv2 hello)
  std::uint16_t legacy_version = 0;  // client_version in the hello body
  std::uint32_t length = 0;          // handshake body length (bytes after the 4-byte header)
  std::uint32_t records = 0;         // TLS records the hello was carried in (1 for SSLv2)
  bool sslv2 = false;                // SSLv2-compatible CLIENT-HELLO (high bit, 2-byte length)
  bool grease = false;               // a GREASE value (0x?A?A) in suites/extensions/groups/versions
  bool status_request = false;       // extension 5 (OCSP stapling requested)
  bool ech = false;                  // extension 0xfe0d: `sni` is then the outer (public) name
  bool pre_shared_key = false;       // extension 41 (resumption / 0-RTT)
  bool early_data = false;           // extension 42
  std::string sni;                   // host_name from server_name, empty when absent
  std::vector<std::string> alpn;     // protocol list in the client's order
  std::vector<std::uint16_t> cipher_suites;         // in order, GREASE included
  std::vector<std::uint16_t> extensions;            // extension types in order
  std::vector<std::uint16_t> supported_versions;    // extension 43, GREASE included
  std::vector<std::uint16_t> signature_algorithms;  // extension 13
  std::vector<std::uint16_t> supported_groups;      // extension 10
  std::vector<std::uint16_t> key_share_groups;      // groups offered in extension 51
  // The highest non-GREASE version offered: from supported_versions if present, else legacy.
  std::uint16_t max_version() const;
};

// A SIP or HTTP/1.x start line.
struct StartLine {
  std::string method;   // request method ("INVITE", "SERVICE", "GET"); empty for a status line
  std::string target;   // request-URI / request-target
  std::string version;  // "SIP/2.0", "HTTP/1.1"
  int status = 0;       // status code of a status line, 0 for a request
};

// A STUN-family message (STUN/TURN, MS-TURN, ChannelData).
struct StunInfo {
  std::uint16_t type = 0;        // message type (0x0001 Binding, 0x0003 Allocate...)
  std::uint16_t length = 0;      // message length field (bytes after the 20-byte header)
  bool cookie = false;           // RFC 5389 magic cookie 0x2112A442 at offset 4
  bool ms_magic_cookie = false;  // MS-TURN MAGIC-COOKIE attribute (0x000F = 0x72C64BC6) first
  std::uint8_t frame_type = 0;   // MS-TURN TCP framing type (0x02 control, 0x03 data), 0 if none
  std::uint16_t channel = 0;     // ChannelData channel number
};

struct Peek {
  Status status = Status::kNeedMore;
  Kind kind = Kind::kUnknown;
  // Bytes of the first complete unit the decision covers: the TLS records carrying the hello,
  // the 50-byte pseudo-TLS hello, leading empty lines + the SIP/HTTP start line, the HTTP/2
  // preface, the (framed) STUN message. Calling again on the rest of the stream classifies what
  // follows (e.g. the second ClientHello after a HelloRetryRequest).
  std::size_t consumed = 0;
  std::string error;  // why kError (or, for kDone + kUnknown, a short note), for logs
  ClientHello hello;  // kTls / kPseudoTls on the client side
  StartLine line;     // kSip / kHttp1
  StunInfo stun;      // kStun / kMsTurn / kTurnChannel

  bool done() const { return status == Status::kDone; }
  bool need_more() const { return status == Status::kNeedMore; }
};

// The first bytes a client sent (on the TCP connection, or the first decrypted bytes inside TLS).
Peek classify_client(std::span<const std::uint8_t> bytes);

// The first bytes a server sent before the client said anything (server-first protocols): a SIP
// request/status line, an HTTP/1.x status line, an HTTP/2 SETTINGS frame, a TLS ServerHello,
// STUN/MS-TURN; anything else is kUnknown (an unknown banner).
Peek classify_server(std::span<const std::uint8_t> bytes);

// Just the ClientHello parser (real TLS, SSLv2-compatible, and pseudo-TLS, which it reports as
// kPseudoTls). Leading 1-byte ChangeCipherSpec records are skipped (a second hello after a
// HelloRetryRequest follows one). Returns kDone + kUnknown when the bytes are not a hello.
Peek parse_client_hello(std::span<const std::uint8_t> bytes);

}  // namespace wb::peek
