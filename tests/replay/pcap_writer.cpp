#include "tests/replay/pcap_writer.h"

#include <arpa/inet.h>

#include <array>
#include <stdexcept>

namespace wb::test {
namespace {

void le32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void le16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v & 0xff));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void be16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8 & 0xff));
  b.push_back(static_cast<std::uint8_t>(v & 0xff));
}
void be32(Bytes& b, std::uint32_t v) {
  be16(b, v >> 16);
  be16(b, v & 0xffff);
}

bool is_v6(const std::string& a) {
  return a.find(':') != std::string::npos;
}

Bytes addr(const std::string& a) {
  std::array<std::uint8_t, 16> buf{};
  const int family = is_v6(a) ? AF_INET6 : AF_INET;
  if (inet_pton(family, a.c_str(), buf.data()) != 1) throw std::invalid_argument(a);
  return Bytes(buf.begin(), buf.begin() + (family == AF_INET6 ? 16 : 4));
}

Bytes ip(const std::string& src, const std::string& dst, std::uint8_t proto, const Bytes& l4) {
  Bytes b;
  const Bytes s = addr(src), d = addr(dst);
  if (is_v6(src)) {
    be32(b, 0x60000000);
    be16(b, l4.size());
    b.push_back(proto);
    b.push_back(64);
  } else {
    b.push_back(0x45);
    b.push_back(0);
    be16(b, 20 + l4.size());
    be32(b, 0x00004000);  // id 0, DF
    b.push_back(64);
    b.push_back(proto);
    be16(b, 0);
  }
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

}  // namespace

Bytes pcap_file(std::uint32_t linktype, const std::vector<PcapRecord>& records,
                std::uint32_t snaplen) {
  Bytes b;
  le32(b, 0xa1b2c3d4);
  le16(b, 2);
  le16(b, 4);
  le32(b, 0);
  le32(b, 0);
  le32(b, snaplen);
  le32(b, linktype);
  std::uint32_t t = 1'700'000'000;
  for (const PcapRecord& r : records) {
    le32(b, t++);
    le32(b, 0);
    le32(b, static_cast<std::uint32_t>(r.data.size()));
    le32(b, r.orig_len != 0 ? r.orig_len : static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

Bytes ip_tcp(const Tcp& t) {
  Bytes l4;
  be16(l4, t.sport);
  be16(l4, t.dport);
  be32(l4, t.seq);
  be32(l4, 0);  // ack
  l4.push_back(0x50);
  l4.push_back(t.flags);
  be16(l4, 65535);
  be16(l4, 0);
  be16(l4, 0);
  l4.insert(l4.end(), t.payload.begin(), t.payload.end());
  return ip(t.src, t.dst, 6, l4);
}

Bytes ip_udp(const std::string& src, const std::string& dst, std::uint16_t sport,
             std::uint16_t dport, const Bytes& payload) {
  Bytes l4;
  be16(l4, sport);
  be16(l4, dport);
  be16(l4, 8 + payload.size());
  be16(l4, 0);
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip(src, dst, 17, l4);
}

Bytes ethernet(const Bytes& ip_packet, const std::vector<std::uint16_t>& vlans) {
  Bytes b = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  for (std::uint16_t v : vlans) {
    be16(b, 0x8100);
    be16(b, v);
  }
  be16(b, !ip_packet.empty() && ip_packet[0] >> 4 == 6 ? 0x86dd : 0x0800);
  b.insert(b.end(), ip_packet.begin(), ip_packet.end());
  return b;
}

}  // namespace wb::test
