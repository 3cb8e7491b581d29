// The vocabulary of a session as operators see it: protocol, verdict and state, each with the
// label the CLI filters on (`wirebump sessions --protocol ms-turn`) and the upper-case form the
// logs use (MS-TURN), so that every component names things the same way.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wb::session {

// What a session carries. Later handlers (TLS peek, interception) refine it; the plain relay
// leaves kTunnel (relayed untouched).
enum class Protocol : std::uint8_t {
  kUnknown = 0,
  kHttps,
  kHttp,
  kSips,
  kSip,
  kMsTurn,
  kTurn,
  kTunnel,
};

// What the agent decided to do with it.
enum class Verdict : std::uint8_t {
  kPending = 0,  // not decided yet (e.g. waiting for the first bytes)
  kRelay,        // bytes relayed both ways unchanged
  kIntercept,    // TLS terminated on both legs, inspected
  kTunnel,       // relayed untouched because policy or an error said so
  kDeny,         // refused / closed by policy
};

// Where the connection is in its life.
enum class State : std::uint8_t {
  kAccepted = 0,  // client accepted, upstream not connected yet
  kConnecting,    // upstream connect in flight
  kEstablished,   // both legs open
  kHalfClosed,    // one direction finished (FIN relayed), the other still flows
  kClosing,       // being torn down
};

// Lower-case CLI labels: https, http, sips, sip, ms-turn, turn, tunnel, unknown.
std::string_view label(Protocol protocol);
// Upper-case log labels: HTTPS, HTTP, SIPS, SIP, MS-TURN, TURN, TUNNEL, UNKNOWN.
std::string_view log_label(Protocol protocol);
// pending, relay, intercept, tunnel, deny.
std::string_view label(Verdict verdict);
// accepted, connecting, established, half-closed, closing.
std::string_view label(State state);

// Inverse of label(Protocol), case-insensitive ("MS-TURN" and "ms-turn" both parse).
std::optional<Protocol> parse_protocol(std::string_view text);
// Every protocol, in the order operators read them (CLI help and validation messages). These
// labels are the only ones: the classifier (agent/peek) names wire formats, not protocols.
inline constexpr std::array<Protocol, 8> kAllProtocols = {
    Protocol::kHttps,  Protocol::kHttp, Protocol::kSips,   Protocol::kSip,
    Protocol::kMsTurn, Protocol::kTurn, Protocol::kTunnel, Protocol::kUnknown};
// "https, http, sips, sip, ms-turn, turn, tunnel or unknown": kAllProtocols for help texts and
// the errors of `wirebump sessions --protocol` (CLI and agent alike).
std::string protocol_choices();

}  // namespace wb::session
