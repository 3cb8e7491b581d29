// Hellos that are not ordinary TLS records: the Microsoft MS-TURN "pseudo-TLS" hello pair and
// the SSLv2-compatible CLIENT-HELLO.
#include <array>

#include "agent/peek/detectors.h"
#include "agent/peek/reader.h"

namespace wb::peek::detail {
namespace {

// A fixed byte pattern; kAny marks the random and session-id bytes that may hold anything.
constexpr int kAny = -1;
template <std::size_t N>
using Pattern = std::array<int, N>;

template <std::size_t N>
constexpr Pattern<N> with_any(std::initializer_list<std::pair<std::size_t, int>> fixed) {
  Pattern<N> p{};
  p.fill(kAny);
  for (auto [at, value] : fixed) p[at] = value;
  return p;
}

// [MS-TURN] 2.1.1 / libnice pseudossl.c. Client, 50 bytes: record 16 03 01 00 2d, ClientHello
// of 0x29 bytes, version 3.1, 32 random bytes, empty session id, exactly one suite
// (0x0018 TLS_DH_anon_WITH_RC4_128_MD5), null compression, no extensions.
constexpr auto kPseudoClient = [] {
  auto p = with_any<50>({{0, 0x16},
                         {1, 0x03},
                         {2, 0x01},
                         {3, 0x00},
                         {4, 0x2d},
                         {5, 0x01},
                         {6, 0x00},
                         {7, 0x00},
                         {8, 0x29},
                         {9, 0x03},
                         {10, 0x01}});
  const int tail[] = {0x00, 0x00, 0x02, 0x00, 0x18, 0x01, 0x00};
  for (std::size_t i = 0; i < 7; ++i) p[43 + i] = tail[i];
  return p;
}();
// Server, 83 bytes: ServerHello + ServerHelloDone in one record; 32-byte session id, suite 0x0018.
constexpr auto kPseudoServer = [] {
  auto p = with_any<83>({{0, 0x16},
                         {1, 0x03},
                         {2, 0x01},
                         {3, 0x00},
                         {4, 0x4e},
                         {5, 0x02},
                         {6, 0x00},
                         {7, 0x00},
                         {8, 0x46},
                         {9, 0x03},
                         {10, 0x01},
                         {43, 0x20}});
  const int tail[] = {0x00, 0x18, 0x00, 0x0e, 0x00, 0x00, 0x00};
  for (std::size_t i = 0; i < 7; ++i) p[76 + i] = tail[i];
  return p;
}();

template <std::size_t N>
Peek match(Bytes in, const Pattern<N>& pattern) {
  for (std::size_t i = 0; i < N; ++i) {
    if (i >= in.size()) return need_more();
    if (pattern[i] != kAny && in[i] != pattern[i]) return not_mine();
  }
  Peek p = found(Kind::kPseudoTls, N);
  p.hello.record_version = 0x0301;
  p.hello.legacy_version = 0x0301;
  p.hello.records = 1;
  p.hello.cipher_suites = {0x0018};
  return p;
}

}  // namespace

Peek detect_pseudo_tls_client(Bytes in) {
  Peek p = match(in, kPseudoClient);
  if (p.kind == Kind::kPseudoTls) p.hello.length = 0x29;
  return p;
}

Peek detect_pseudo_tls_server(Bytes in) {
  return match(in, kPseudoServer);
}

// SSLv2-compatible CLIENT-HELLO (RFC 6101 E.2 / RFC 5246 E.2): 2-byte record header with the
// high bit set, msg type 1, version, cipher-spec/session-id/challenge lengths, 3-byte specs.
// Every structural check that fails means "not an SSLv2 hello", since nothing else announced TLS.
Peek detect_sslv2_client_hello(Bytes in) {
  constexpr std::size_t kFixed = 11;  // header(2) type(1) version(2) three lengths(6)
  if (in.empty()) return need_more();
  if ((in[0] & 0x80) == 0) return not_mine();
  if (in.size() < 3) return need_more();
  const std::size_t len = static_cast<std::size_t>(in[0] & 0x7f) << 8 | in[1];
  if (in[2] != 1) return not_mine();
  if (in.size() < 4) return need_more();
  if (in[3] != 0x00 && in[3] != 0x03) return not_mine();
  if (in.size() < 5) return need_more();
  const std::uint16_t version = be16(in, 3);
  if (version != 0x0002 && (version < 0x0300 || version > 0x0304)) return not_mine();
  if (in.size() < kFixed) return need_more();
  const std::size_t specs = be16(in, 5), sid = be16(in, 7), challenge = be16(in, 9);
  if (specs == 0 || specs % 3 != 0 || (sid != 0 && sid != 16) || challenge < 16 || challenge > 32 ||
      len != kFixed - 2 + specs + sid + challenge) {
    return not_mine();
  }
  if (in.size() < 2 + len) return need_more();
  Peek p = found(Kind::kTls, 2 + len);
  ClientHello& h = p.hello;
  h.sslv2 = true;
  h.record_version = 0x0002;
  h.legacy_version = version;
  h.length = static_cast<std::uint32_t>(len - 1);
  h.records = 1;
  for (std::size_t at = kFixed; at < kFixed + specs; at += 3) {
    // Specs whose first byte is 0 are TLS cipher suites; the rest are SSLv2-only kinds.
    if (in[at] == 0) {
      const std::uint16_t suite = be16(in, at + 1);
      h.grease = h.grease || is_grease(suite);
      h.cipher_suites.push_back(suite);
    }
  }
  return p;
}

}  // namespace wb::peek::detail
