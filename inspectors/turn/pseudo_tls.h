// The Microsoft "pseudo-TLS" exchange that opens MS-TURN over TCP 443 ([MS-TURN] 2.1.1, byte
// values as in libnice socket/pseudossl.c): a fixed 50-byte fake ClientHello and an 83-byte fake
// ServerHello + ServerHelloDone. No keys: afterwards the stream is plaintext MS-TURN framing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wb::turn {

inline constexpr std::size_t kPseudoTlsClientSize = 50;
inline constexpr std::size_t kPseudoTlsServerSize = 83;

enum class HelloCheck : std::uint8_t { kMatch, kNeedMore, kMismatch };

// Checks the structure (not the random bytes) of the first bytes of a stream; kNeedMore while
// everything seen so far matches but the hello is not complete.
HelloCheck check_pseudo_tls_client(std::span<const std::uint8_t> bytes);
HelloCheck check_pseudo_tls_server(std::span<const std::uint8_t> bytes);

// Builds the messages with the given random (and session id for the server), for the test peer.
std::array<std::uint8_t, kPseudoTlsClientSize> make_pseudo_tls_client(
    const std::array<std::uint8_t, 32>& random);
std::array<std::uint8_t, kPseudoTlsServerSize> make_pseudo_tls_server(
    const std::array<std::uint8_t, 32>& random, const std::array<std::uint8_t, 32>& session_id);

}  // namespace wb::turn
