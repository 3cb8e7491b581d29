// Decoding one captured frame down to its TCP or UDP payload (bounds-checked, no copies).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wb::replay {

struct Address {
  std::uint8_t family = 0;               // 4 or 6
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  auto operator<=>(const Address&) const = default;
  std::string str() const;  // "192.0.2.1", "2001:db8::1"
};

struct Endpoint {
  Address addr;
  std::uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
  std::string str() const;  // "192.0.2.1:443", "[2001:db8::1]:443"
};

enum class DecodeStatus : std::uint8_t {
  kOk,         // a TCP or UDP packet
  kNotIp,      // ARP, LLDP, ...: nothing to classify
  kOtherL4,    // IP but neither TCP nor UDP (ICMP, ESP, ...)
  kFragment,   // an IP fragment (not reassembled)
  kMalformed,  // headers inconsistent or cut before the transport header
};

struct Packet {
  DecodeStatus status = DecodeStatus::kMalformed;
  std::string error;                 // why kMalformed
  std::vector<std::uint16_t> vlans;  // outermost first
  std::size_t l3_offset = 0;         // where the IP header starts in the frame
  std::uint8_t l4 = 0;               // 6 TCP, 17 UDP
  Endpoint src, dst;
  // TCP only.
  std::uint32_t seq = 0;
  std::uint8_t tcp_flags = 0;  // FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10
  // The transport payload as captured, and its length on the wire per the IP header: longer
  // than `payload` when the frame was cut by the snapshot length.
  std::span<const std::uint8_t> payload;
  std::size_t wire_payload_len = 0;
};

inline constexpr std::uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// Decodes a frame of the given libpcap link type (see capture.h for the ones supported).
Packet decode_frame(int link_type, std::span<const std::uint8_t> frame);

// The IP packet of a decoded frame wrapped in an Ethernet header (and its VLAN tags), as the
// bridge's TC/XDP programs see frames: what BPF_PROG_TEST_RUN is fed for non-Ethernet captures.
std::vector<std::uint8_t> as_ethernet(int link_type, std::span<const std::uint8_t> frame,
                                      const Packet& packet);

}  // namespace wb::replay
