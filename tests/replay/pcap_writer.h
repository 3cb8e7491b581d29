// Crafting captures in memory for the replay tests: classic pcap files and IPv4/IPv6 TCP/UDP
// frames (checksums are left zero: nothing on the replay path checks them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wb::test {

using Bytes = std::vector<std::uint8_t>;

struct PcapRecord {
  Bytes data;                  // captured bytes
  std::uint32_t orig_len = 0;  // 0: same as data.size()
};

// A microsecond pcap file (magic a1b2c3d4, little endian) with the given LINKTYPE_ value.
Bytes pcap_file(std::uint32_t linktype, const std::vector<PcapRecord>& records,
                std::uint32_t snaplen = 262144);

struct Tcp {
  std::string src = "192.0.2.1", dst = "192.0.2.2";  // IPv4 or IPv6 literals
  std::uint16_t sport = 40000, dport = 443;
  std::uint32_t seq = 0;
  std::uint8_t flags = 0x18;  // PSH+ACK
  Bytes payload;
};

// The IP packet (IPv4 or IPv6 by the address form) of a TCP segment / UDP datagram.
Bytes ip_tcp(const Tcp& t);
Bytes ip_udp(const std::string& src, const std::string& dst, std::uint16_t sport,
             std::uint16_t dport, const Bytes& payload);
// Ethernet II around an IP packet, with optional 802.1Q tags (outermost first).
Bytes ethernet(const Bytes& ip, const std::vector<std::uint16_t>& vlans = {});

}  // namespace wb::test
