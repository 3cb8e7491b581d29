#include "tests/support/packet_builder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cctype>
#include <stdexcept>

namespace wb::test {
namespace {

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  return sum;
}
std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Bytes address(int family, const std::string& text) {
  Bytes out(family == AF_INET ? 4 : 16);
  if (inet_pton(family, text.c_str(), out.data()) != 1)
    throw std::invalid_argument("packet_builder: bad address " + text);
  return out;
}

}  // namespace

Bytes from_hex(std::string_view hex) {
  Bytes out;
  int nibble = -1;
  for (char ch : hex) {
    if (std::isspace(static_cast<unsigned char>(ch))) continue;
    int v = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : std::tolower(ch) - 'a' + 10;
    if (v < 0 || v > 15) throw std::invalid_argument("from_hex: bad digit");
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  return out;
}

Bytes build_frame(const FrameSpec& spec, FrameLayout* layout) {
  Bytes f(spec.dst_mac.begin(), spec.dst_mac.end());
  f.insert(f.end(), spec.src_mac.begin(), spec.src_mac.end());
  for (std::uint16_t tpid : spec.vlan_tpids) {
    put16(f, tpid);
    put16(f, 100);  // TCI: VLAN 100
  }
  std::uint16_t ethertype = spec.ethertype;
  if (ethertype == 0)
    ethertype = spec.ip_version == 6 ? 0x86dd : spec.ip_version == 4 ? 0x0800 : 0x88b5;
  put16(f, ethertype);
  FrameLayout at;
  at.l3 = f.size();
  if (spec.ip_version == 0) {
    f.insert(f.end(), spec.payload.begin(), spec.payload.end());
    at.l4 = at.payload = f.size();
    if (layout) *layout = at;
    return f;
  }
  // L4 header + payload first (the IP header needs its length).
  Bytes l4;
  if (spec.l4 == 6) {
    put16(l4, spec.sport);
    put16(l4, spec.dport);
    for (int i = 0; i < 4; ++i) l4.push_back(0x11);                                 // seq
    for (int i = 0; i < 4; ++i) l4.push_back(spec.tcp_flags & kTcpAck ? 0x22 : 0);  // ack
    l4.push_back(5 << 4);                                                           // data offset
    l4.push_back(spec.tcp_flags);
    put16(l4, 65535);
    put16(l4, 0);  // checksum
    put16(l4, 0);
  } else if (spec.l4 == 17) {
    put16(l4, spec.sport);
    put16(l4, spec.dport);
    put16(l4, static_cast<std::uint16_t>(8 + spec.payload.size()));
    put16(l4, 0);
  }
  std::size_t l4_header = l4.size();
  l4.insert(l4.end(), spec.payload.begin(), spec.payload.end());

  int family = spec.ip_version == 6 ? AF_INET6 : AF_INET;
  Bytes src = address(family, spec.src);
  Bytes dst = address(family, spec.dst);
  // Pseudo-header checksum for TCP/UDP.
  if (spec.l4 == 6 || spec.l4 == 17) {
    std::uint32_t sum = sum16(src.data(), src.size(), sum16(dst.data(), dst.size()));
    sum += spec.l4 + static_cast<std::uint32_t>(l4.size());
    std::uint16_t c = fold(sum16(l4.data(), l4.size(), sum));
    if (spec.l4 == 17 && c == 0) c = 0xffff;
    set16(l4, spec.l4 == 6 ? 16 : 6, c);
  }

  if (spec.ip_version == 4) {
    std::size_t hlen = 20 + 4u * spec.ipv4_option_words;
    std::size_t ip = f.size();
    f.push_back(static_cast<std::uint8_t>(0x40 | (hlen / 4)));
    f.push_back(0);
    put16(f, static_cast<std::uint16_t>(hlen + l4.size()));
    put16(f, 0x1234);
    put16(f, static_cast<std::uint16_t>((spec.more_fragments ? 0x2000 : 0) | spec.frag_offset));
    f.push_back(64);
    f.push_back(spec.l4);
    put16(f, 0);
    f.insert(f.end(), src.begin(), src.end());
    f.insert(f.end(), dst.begin(), dst.end());
    for (int i = 0; i < 4 * spec.ipv4_option_words; ++i) f.push_back(1);  // NOP
    set16(f, ip + 10, fold(sum16(f.data() + ip, hlen)));
  } else {
    std::size_t ext_len = 8 * spec.ipv6_ext.size();
    f.push_back(0x60);
    f.push_back(0);
    put16(f, 0);
    put16(f, static_cast<std::uint16_t>(ext_len + l4.size()));
    f.push_back(spec.ipv6_ext.empty() ? spec.l4 : spec.ipv6_ext.front());
    f.push_back(64);
    f.insert(f.end(), src.begin(), src.end());
    f.insert(f.end(), dst.begin(), dst.end());
    for (std::size_t i = 0; i < spec.ipv6_ext.size(); ++i) {
      std::uint8_t next = i + 1 < spec.ipv6_ext.size() ? spec.ipv6_ext[i + 1] : spec.l4;
      f.push_back(next);
      if (spec.ipv6_ext[i] == 44) {  // fragment header: reserved, offset << 3 | M
        f.push_back(0);
        put16(f, static_cast<std::uint16_t>(spec.frag_offset << 3 | (spec.more_fragments ? 1 : 0)));
        for (int k = 0; k < 4; ++k) f.push_back(0x5a);  // identification
      } else if (spec.ipv6_ext[i] == 51) {  // AH: length in 4-byte units minus 2 -> 8 bytes
        f.push_back(0);
        for (int k = 0; k < 6; ++k) f.push_back(0);
      } else {  // hop-by-hop, routing, destination options: (len + 1) * 8 = 8, PadN
        f.push_back(0);
        f.push_back(1);
        f.push_back(4);
        for (int k = 0; k < 4; ++k) f.push_back(0);
      }
    }
  }
  at.l4 = f.size();
  at.payload = at.l4 + l4_header;
  f.insert(f.end(), l4.begin(), l4.end());
  if (layout) *layout = at;
  return f;
}

Bytes ethernet_wrap(std::uint16_t ethertype, const std::uint8_t* data, std::size_t size) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(f, ethertype);
  f.insert(f.end(), data, data + size);
  return f;
}

Bytes stun_binding_request() {
  // Binding request, length 8, cookie, transaction id, SOFTWARE-less: one FINGERPRINT-sized attr
  return from_hex("0001 0008 2112a442 0102030405060708090a0b0c 8028 0004 deadbeef");
}

Bytes quic_initial(std::uint32_t version, std::size_t size) {
  std::uint8_t type = version == 0x6b3343cf ? 1 : 0;
  Bytes b = {static_cast<std::uint8_t>(0xc0 | type << 4 | 0x03)};
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(version >> s));
  b.push_back(8);  // DCID length
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(0xa0 + i));
  b.push_back(0);                          // SCID length
  b.push_back(0);                          // token length
  while (b.size() < size) b.push_back(0);  // stands for the protected payload + padding
  return b;
}

Bytes gquic_q043_chlo() {
  Bytes b = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3', 0x01};
  while (b.size() < 1350) b.push_back(0);
  return b;
}

}  // namespace wb::test
