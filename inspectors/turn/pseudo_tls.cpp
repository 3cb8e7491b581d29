#include "inspectors/turn/pseudo_tls.h"

#include <algorithm>

namespace wb::turn {
namespace {

// Fixed parts of the hellos; a -1 marks bytes that are random (not compared).
constexpr int kRandom = -1;

constexpr std::array<int, kPseudoTlsClientSize> client_template() {
  std::array<int, kPseudoTlsClientSize> t{};
  constexpr int head[] = {0x16, 0x03, 0x01, 0x00, 0x2d,  // handshake record, 45 bytes
                          0x01, 0x00, 0x00, 0x29,        // ClientHello, 41 bytes
                          0x03, 0x01};                   // version 3.1
  std::size_t i = 0;
  for (int b : head) t[i++] = b;
  for (int r = 0; r < 32; ++r) t[i++] = kRandom;
  constexpr int tail[] = {0x00,                    // empty session id
                          0x00, 0x02, 0x00, 0x18,  // one suite: TLS_DH_anon_WITH_RC4_128_MD5
                          0x01, 0x00};             // null compression, no extensions
  for (int b : tail) t[i++] = b;
  return t;
}

constexpr std::array<int, kPseudoTlsServerSize> server_template() {
  std::array<int, kPseudoTlsServerSize> t{};
  constexpr int head[] = {0x16, 0x03, 0x01, 0x00, 0x4e,  // handshake record, 78 bytes
                          0x02, 0x00, 0x00, 0x46,        // ServerHello, 70 bytes
                          0x03, 0x01};
  std::size_t i = 0;
  for (int b : head) t[i++] = b;
  for (int r = 0; r < 32; ++r) t[i++] = kRandom;
  t[i++] = 0x20;  // 32-byte session id
  for (int r = 0; r < 32; ++r) t[i++] = kRandom;
  constexpr int tail[] = {0x00, 0x18, 0x00,         // suite 0x0018, null compression
                          0x0e, 0x00, 0x00, 0x00};  // ServerHelloDone, empty
  for (int b : tail) t[i++] = b;
  return t;
}

constexpr auto kClient = client_template();
constexpr auto kServer = server_template();

template <std::size_t N>
HelloCheck check(std::span<const std::uint8_t> bytes, const std::array<int, N>& expected) {
  std::size_t n = std::min(bytes.size(), N);
  for (std::size_t i = 0; i < n; ++i) {
    if (expected[i] != kRandom && bytes[i] != expected[i]) return HelloCheck::kMismatch;
  }
  return n == N ? HelloCheck::kMatch : HelloCheck::kNeedMore;
}

template <std::size_t N>
std::array<std::uint8_t, N> build(const std::array<int, N>& expected,
                                  std::span<const std::uint8_t> random_fill) {
  std::array<std::uint8_t, N> out{};
  std::size_t r = 0;
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = expected[i] == kRandom ? random_fill[r++] : static_cast<std::uint8_t>(expected[i]);
  }
  return out;
}

}  // namespace

HelloCheck check_pseudo_tls_client(std::span<const std::uint8_t> bytes) {
  return check(bytes, kClient);
}

HelloCheck check_pseudo_tls_server(std::span<const std::uint8_t> bytes) {
  return check(bytes, kServer);
}

std::array<std::uint8_t, kPseudoTlsClientSize> make_pseudo_tls_client(
    const std::array<std::uint8_t, 32>& random) {
  return build(kClient, random);
}

std::array<std::uint8_t, kPseudoTlsServerSize> make_pseudo_tls_server(
    const std::array<std::uint8_t, 32>& random, const std::array<std::uint8_t, 32>& session_id) {
  std::array<std::uint8_t, 64> fill{};
  std::copy(random.begin(), random.end(), fill.begin());
  std::copy(session_id.begin(), session_id.end(), fill.begin() + 32);
  return build(kServer, fill);
}

}  // namespace wb::turn
