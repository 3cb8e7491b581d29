// What one replayed flow carries, for `wirebump replay`: TCP flows through the agent's
// first-bytes classifier (client bytes first, the server's when it speaks first), UDP flows by
// the kernel classifier's flow class (the bridge's own judgement) refined with details from the
// first datagram (QUIC version), or the first-bytes classifier (SIP, STUN) without a class.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "agent/peek/peek.h"
#include "agent/replay/flows.h"
#include "bpf/wirebump_abi.h"

namespace wb::replay {

struct Detected {
  // "tls", "pseudo-tls", "sip", "http", "http/2", "stun", "ms-turn", "turn-channel", "quic",
  // "gquic", "dtls", "rtp", "classic-stun", "ms-turn-mux", "unknown"; "incomplete" when the
  // capture ends before a decision, "malformed" for a classifier error, "none" without payload.
  std::string protocol;
  nlohmann::json details = nlohmann::json::object();  // sni, alpn, version, method, ...
  bool server_first = false;                          // decided on the server's bytes (banner)
  peek::Peek peek;              // the TCP classification (client side, or server side)
  std::string summary() const;  // "tls sni=example.com alpn=h2,http/1.1 version=0x0304 ech"
};

Detected detect_tcp(const Flow& flow);
Detected detect_udp(const Flow& flow, std::optional<wb_flow_class> kernel_class);

// QUIC version of a long-header (or old gQUIC) packet as text: "v1", "v2", "draft-29", "Q043",
// "0x1a2a3a4a"; empty when there is none.
std::string quic_version(std::span<const std::uint8_t> datagram);

}  // namespace wb::replay
