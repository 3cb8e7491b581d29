// Link layer -> IPv4/IPv6 -> TCP/UDP, reading fields byte by byte with explicit bounds checks.
#include "agent/replay/decode.h"

#include <arpa/inet.h>

#include <algorithm>

#include "agent/replay/capture.h"

namespace wb::replay {
namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100, kEtherQinQ = 0x88a8, kEtherQinQOld = 0x9100;
constexpr std::size_t kMaxVlanTags = 4;
constexpr std::uint8_t kTcp = 6, kUdp = 17;

std::uint16_t be16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t be32(Bytes b, std::size_t at) {
  return static_cast<std::uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}

Packet malformed(Packet p, std::string why) {
  p.status = DecodeStatus::kMalformed;
  p.error = std::move(why);
  return p;
}

// Address family values of BSD loopback headers: AF_INET is 2 everywhere, AF_INET6 differs.
std::uint16_t family_to_ethertype(std::uint32_t af) {
  if (af == 2) return kEtherIpv4;
  if (af == 10 || af == 24 || af == 28 || af == 30) return kEtherIpv6;
  return 0;
}
std::uint16_t version_to_ethertype(Bytes frame) {
  if (frame.empty()) return 0;
  if (frame[0] >> 4 == 4) return kEtherIpv4;
  if (frame[0] >> 4 == 6) return kEtherIpv6;
  return 0;
}

Packet transport(Packet p, Bytes frame, std::size_t at, std::size_t end, std::uint8_t proto) {
  // `end` is where the IP packet ends on the wire; the frame may stop earlier (snaplen).
  const std::size_t captured_end = std::min(end, frame.size());
  p.l4 = proto;
  if (proto == kTcp) {
    if (captured_end < at + 20) return malformed(std::move(p), "TCP header cut");
    const std::size_t hlen = static_cast<std::size_t>(frame[at + 12] >> 4) * 4;
    if (hlen < 20 || at + hlen > end) return malformed(std::move(p), "bad TCP data offset");
    if (captured_end < at + hlen) return malformed(std::move(p), "TCP options cut");
    p.src.port = be16(frame, at);
    p.dst.port = be16(frame, at + 2);
    p.seq = be32(frame, at + 4);
    p.tcp_flags = frame[at + 13];
    at += hlen;
  } else if (proto == kUdp) {
    if (captured_end < at + 8) return malformed(std::move(p), "UDP header cut");
    const std::size_t ulen = be16(frame, at + 4);
    if (ulen < 8 || at + ulen > end) return malformed(std::move(p), "bad UDP length");
    p.src.port = be16(frame, at);
    p.dst.port = be16(frame, at + 2);
    end = at + ulen;
    at += 8;
  } else {
    p.status = DecodeStatus::kOtherL4;
    return p;
  }
  p.wire_payload_len = end - at;
  p.payload = frame.subspan(at, std::min(end, frame.size()) - at);
  p.status = DecodeStatus::kOk;
  return p;
}

Packet ipv4(Packet p, Bytes frame, std::size_t at) {
  if (frame.size() < at + 20) return malformed(std::move(p), "IPv4 header cut");
  const std::size_t ihl = static_cast<std::size_t>(frame[at] & 0x0f) * 4;
  const std::size_t total = be16(frame, at + 2);
  if (frame[at] >> 4 != 4 || ihl < 20 || total < ihl)
    return malformed(std::move(p), "bad IPv4 header");
  if (frame.size() < at + ihl) return malformed(std::move(p), "IPv4 options cut");
  const std::uint16_t frag = be16(frame, at + 6);
  p.src.addr.family = p.dst.addr.family = 4;
  std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(at + 12), 4, p.src.addr.bytes.begin());
  std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(at + 16), 4, p.dst.addr.bytes.begin());
  p.l4 = frame[at + 9];
  if ((frag & 0x3fff) != 0) {  // MF set or a non-zero offset
    p.status = DecodeStatus::kFragment;
    return p;
  }
  return transport(std::move(p), frame, at + ihl, at + total, frame[at + 9]);
}

Packet ipv6(Packet p, Bytes frame, std::size_t at) {
  constexpr std::size_t kFixed = 40;
  if (frame.size() < at + kFixed) return malformed(std::move(p), "IPv6 header cut");
  if (frame[at] >> 4 != 6) return malformed(std::move(p), "bad IPv6 version");
  const std::size_t end = at + kFixed + be16(frame, at + 4);
  p.src.addr.family = p.dst.addr.family = 6;
  std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(at + 8), 16, p.src.addr.bytes.begin());
  std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(at + 24), 16, p.dst.addr.bytes.begin());
  std::uint8_t next = frame[at + 6];
  at += kFixed;
  // Extension headers (bounded: each is at least 8 bytes and must lie inside the packet).
  for (int hops = 0; hops < 8; ++hops) {
    if (next == 44) {
      p.status = DecodeStatus::kFragment;
      return p;
    }
    if (next != 0 && next != 43 && next != 60) break;  // hop-by-hop, routing, destination
    if (frame.size() < at + 2 || at + 8 > end) return malformed(std::move(p), "IPv6 extension cut");
    next = frame[at];
    at += (static_cast<std::size_t>(frame[at + 1]) + 1) * 8;
    if (at > end) return malformed(std::move(p), "IPv6 extension overruns the packet");
  }
  return transport(std::move(p), frame, at, end, next);
}

Packet network(Packet p, Bytes frame, std::size_t at, std::uint16_t ethertype) {
  p.l3_offset = at;
  if (ethertype == kEtherIpv4) return ipv4(std::move(p), frame, at);
  if (ethertype == kEtherIpv6) return ipv6(std::move(p), frame, at);
  p.status = DecodeStatus::kNotIp;
  return p;
}

Packet ethernet(Packet p, Bytes frame) {
  constexpr std::size_t kHeader = 14;
  if (frame.size() < kHeader) return malformed(std::move(p), "Ethernet header cut");
  std::size_t at = 12;
  std::uint16_t type = be16(frame, at);
  while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
    if (p.vlans.size() == kMaxVlanTags) return malformed(std::move(p), "too many VLAN tags");
    if (frame.size() < at + 6) return malformed(std::move(p), "VLAN tag cut");
    p.vlans.push_back(be16(frame, at + 2) & 0x0fff);
    at += 4;
    type = be16(frame, at);
  }
  return network(std::move(p), frame, at + 2, type);
}

}  // namespace

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (family == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::str() const {
  const std::string a = addr.str();
  return (addr.family == 6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

Packet decode_frame(int link_type, Bytes frame) {
  Packet p;
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kEthernet:
      return ethernet(std::move(p), frame);
    case LinkType::kNull:
    case LinkType::kLoop: {
      if (frame.size() < 4) return malformed(std::move(p), "loopback header cut");
      const std::uint32_t be = be32(frame, 0);
      const std::uint32_t le = static_cast<std::uint32_t>(frame[0]) | frame[1] << 8 |
                               frame[2] << 16 | static_cast<std::uint32_t>(frame[3]) << 24;
      // DLT_NULL is in the capturing host's byte order, which the file does not record.
      std::uint16_t type = family_to_ethertype(be);
      if (type == 0 && static_cast<LinkType>(link_type) == LinkType::kNull) {
        type = family_to_ethertype(le);
      }
      return network(std::move(p), frame, 4, type);
    }
    case LinkType::kLinuxSll:
      if (frame.size() < 16) return malformed(std::move(p), "Linux cooked header cut");
      return network(std::move(p), frame, 16, be16(frame, 14));
    case LinkType::kLinuxSll2:
      if (frame.size() < 20) return malformed(std::move(p), "Linux cooked v2 header cut");
      return network(std::move(p), frame, 20, be16(frame, 0));
    case LinkType::kRaw:
    case LinkType::kRawAlt:
    case LinkType::kIpv4:
    case LinkType::kIpv6:
      return network(std::move(p), frame, 0, version_to_ethertype(frame));
  }
  return malformed(std::move(p), "unsupported link type " + std::to_string(link_type));
}

std::vector<std::uint8_t> as_ethernet(int link_type, Bytes frame, const Packet& packet) {
  if (static_cast<LinkType>(link_type) == LinkType::kEthernet) {
    return {frame.begin(), frame.end()};
  }
  // Locally administered MACs: the classifier never looks at them.
  std::vector<std::uint8_t> out = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (std::uint16_t vid : packet.vlans) {
    out.insert(out.end(), {0x81, 0x00, static_cast<std::uint8_t>(vid >> 8),
                           static_cast<std::uint8_t>(vid & 0xff)});
  }
  const std::uint16_t type = packet.src.addr.family == 6 ? kEtherIpv6 : kEtherIpv4;
  out.push_back(static_cast<std::uint8_t>(type >> 8));
  out.push_back(static_cast<std::uint8_t>(type & 0xff));
  if (packet.l3_offset <= frame.size()) {
    out.insert(out.end(), frame.begin() + static_cast<std::ptrdiff_t>(packet.l3_offset),
               frame.end());
  }
  return out;
}

}  // namespace wb::replay
