#include "agent/replay/test_run_frame.h"

#include <algorithm>

#include "agent/replay/capture.h"

namespace wb::replay {
namespace {

constexpr std::size_t kIpv6Fixed = 40, kUdpHeader = 8;

std::size_t get16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::size_t>(b[at]) << 8 | b[at + 1];
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v & 0xff);
}

void ipv4_checksum(std::vector<std::uint8_t>& b, std::size_t at, std::size_t header_len) {
  put16(b, at + 10, 0);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < header_len; i += 2)
    sum += static_cast<std::uint32_t>(get16(b, at + i));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(b, at + 10, ~sum & 0xffff);
}

// Sets the IP length field (and UDP's) to the bytes present after `l3`. Lengths that already fit
// (Ethernet padding after the packet) or are zero (BIG TCP: the length lives in the skb) stay.
bool fit_lengths(std::vector<std::uint8_t>& b, std::size_t l3, const Packet& packet,
                 std::size_t udp_at) {
  bool changed = false;
  const std::size_t present = b.size() - l3;
  if (packet.src.addr.family == 4) {
    if (present < 20) return false;
    const std::size_t ihl = static_cast<std::size_t>(b[l3] & 0x0f) * 4;
    const std::size_t total = get16(b, l3 + 2);
    if (total > present && ihl <= present) {
      put16(b, l3 + 2, present);
      ipv4_checksum(b, l3, ihl);
      changed = true;
    }
  } else if (packet.src.addr.family == 6) {
    if (present < kIpv6Fixed) return false;
    if (get16(b, l3 + 4) > present - kIpv6Fixed) {
      put16(b, l3 + 4, present - kIpv6Fixed);
      changed = true;
    }
  }
  if (udp_at != 0 && udp_at + kUdpHeader <= b.size() && udp_at + get16(b, udp_at + 4) > b.size()) {
    put16(b, udp_at + 4, b.size() - udp_at);
    changed = true;
  }
  return changed;
}

}  // namespace

TestRunFrame test_run_frame(int link_type, std::span<const std::uint8_t> frame,
                            const Packet& packet, std::size_t max_bytes) {
  TestRunFrame out{as_ethernet(link_type, frame, packet)};
  if (out.bytes.size() > max_bytes) {
    out.bytes.resize(max_bytes);
    out.shortened = true;
  }
  const bool ip = packet.status == DecodeStatus::kOk || packet.status == DecodeStatus::kOtherL4 ||
                  packet.status == DecodeStatus::kFragment;
  if (!ip) return out;
  // Where the IP header sits in the Ethernet frame: as captured, or behind the 14-byte header and
  // VLAN tags as_ethernet() puts in front of other link types.
  const std::size_t l3 = static_cast<LinkType>(link_type) == LinkType::kEthernet
                             ? packet.l3_offset
                             : 14 + 4 * packet.vlans.size();
  std::size_t udp_at = 0;
  if (packet.status == DecodeStatus::kOk && packet.l4 == 17) {
    // The payload span points into `frame`; the UDP header is the 8 bytes before it.
    const auto payload_at = static_cast<std::size_t>(packet.payload.data() - frame.data());
    udp_at = l3 + (payload_at - kUdpHeader - packet.l3_offset);
  }
  if (l3 < out.bytes.size() && fit_lengths(out.bytes, l3, packet, udp_at)) out.shortened = true;
  return out;
}

}  // namespace wb::replay
