// Crafted Ethernet frames for the BPF tests: Ethernet, 802.1Q/802.1ad tags, IPv4 (options,
// fragments) or IPv6 (extension headers), TCP or UDP, payload. Lengths and checksums are
// computed, so the same frames can also be sent on a wire; tests then cut or corrupt them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wb::test {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(std::string_view hex);  // "16 03 01" or "160301"; whitespace ignored

struct FrameSpec {
  std::array<std::uint8_t, 6> dst_mac{0x02, 0, 0, 0, 0, 0x02};
  std::array<std::uint8_t, 6> src_mac{0x02, 0, 0, 0, 0, 0x01};
  std::vector<std::uint16_t> vlan_tpids;  // outermost first: 0x88a8, 0x8100
  std::uint16_t ethertype = 0;            // 0: from the IP version
  int ip_version = 4;                     // 4, 6, or 0 (raw payload after the Ethernet header)
  std::string src = "192.0.2.1";
  std::string dst = "192.0.2.2";
  std::uint8_t ipv4_option_words = 0;  // IPv4 options (NOPs), 4 bytes each
  std::uint16_t frag_offset = 0;       // in 8-byte units
  bool more_fragments = false;
  std::vector<std::uint8_t> ipv6_ext;  // extension header types in order (8 bytes each)
  std::uint8_t l4 = 6;                 // IPPROTO_TCP, IPPROTO_UDP, or anything else
  std::uint16_t sport = 40000;
  std::uint16_t dport = 443;
  std::uint8_t tcp_flags = 0x02;  // SYN
  Bytes payload;
};

constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpAck = 0x10;
constexpr std::uint8_t kTcpPsh = 0x08;

// Where each layer starts in a built frame (for truncation and corruption loops).
struct FrameLayout {
  std::size_t l3 = 0;
  std::size_t l4 = 0;
  std::size_t payload = 0;
};

Bytes build_frame(const FrameSpec& spec, FrameLayout* layout = nullptr);

// Frames from a capture: wraps a raw IP packet into Ethernet (for DLT_RAW / NULL / SLL).
Bytes ethernet_wrap(std::uint16_t ethertype, const std::uint8_t* data, std::size_t size);

// Common payloads (PROTOCOL-FACTS.md).
Bytes stun_binding_request();                                        // RFC 5389, magic cookie
Bytes quic_initial(std::uint32_t version, std::size_t size = 1200);  // long header, Initial type
Bytes gquic_q043_chlo();  // public flags 0x09, CID, "Q043"

}  // namespace wb::test
