// Names for verdicts, reasons and classes (metric names: stable, snake_case), XDP modes, and
// the textual forms of CIDRs and flow endpoints.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <iterator>

#include "agent/datapath/datapath.h"

namespace wb::datapath {

namespace {

// Indexed by the enum values of bpf/wirebump_abi.h; the static_asserts catch an appended code
// that has no name yet.
constexpr const char* kReasonNames[] = {
    "non_ip",       "malformed",     "fragment",      "other_l4",        "excluded_src",
    "excluded_dst", "not_candidate", "intercept_off", "agent_down",      "not_owned",
    "udp",          "steer_syn",     "steer_client",  "steer_server",    "quic_blocked",
    "to_bridge",    "tagged",        "xdp_fast",      "steer_time_wait", "steer_crl"};
static_assert(std::size(kReasonNames) == WB_REASON_MAX, "a name for every reason");

constexpr const char* kVerdictNames[] = {"bypass", "steer", "drop"};
static_assert(std::size(kVerdictNames) == WB_VERDICT_MAX, "a name for every verdict");

constexpr const char* kClassNames[] = {"unknown",      "tcp",  "stun", "classic_stun", "msturn_mux",
                                       "turn_channel", "dtls", "quic", "gquic",        "rtp"};
static_assert(std::size(kClassNames) == WB_CLASS_MAX, "a name for every class");

template <std::size_t N>
const char* name_of(const char* const (&names)[N], int value) {
  return value >= 0 && static_cast<std::size_t>(value) < N ? names[value] : "unknown";
}

}  // namespace

const char* reason_name(wb_reason reason) {
  return name_of(kReasonNames, reason);
}
const char* verdict_name(wb_verdict verdict) {
  return name_of(kVerdictNames, verdict);
}
const char* class_name(wb_flow_class flow_class) {
  return name_of(kClassNames, flow_class);
}

Result<XdpMode> parse_xdp_mode(std::string_view text) {
  if (text == "off") return XdpMode::off;
  if (text == "generic") return XdpMode::generic;
  if (text == "native") return XdpMode::native;
  return make_error(std::errc::invalid_argument,
                    "xdp mode '" + std::string(text) + "' (expected off, generic or native)");
}

const char* to_string(XdpMode mode) {
  switch (mode) {
    case XdpMode::off:
      return "off";
    case XdpMode::generic:
      return "generic";
    case XdpMode::native:
      return "native";
  }
  return "off";
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&] {
    return make_error(std::errc::invalid_argument, "CIDR '" + std::string(text) + "'");
  };
  std::string_view addr_text = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    std::string_view len_text = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
    if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty())
      return bad();
  }
  Cidr cidr;
  std::string addr(addr_text);
  if (inet_pton(AF_INET, addr.c_str(), cidr.addr.data()) == 1) {
    cidr.family = AF_INET;
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return bad();
  } else if (inet_pton(AF_INET6, addr.c_str(), cidr.addr.data()) == 1) {
    cidr.family = AF_INET6;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return bad();
  } else {
    return bad();
  }
  cidr.prefix_len = static_cast<std::uint8_t>(prefix);
  // Host bits are zeroed so that "10.1.2.3/8" and "10.0.0.0/8" are one entry.
  for (int bit = prefix; bit < 128; ++bit) cidr.addr[bit / 8] &= ~(0x80u >> (bit % 8));
  return cidr;
}

std::string Cidr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, addr.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix_len);
}

namespace {

bool v4_mapped(const __u8* a) {
  static constexpr __u8 kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, sizeof(kPrefix)) == 0;
}

std::string endpoint(const __u8* addr, __u16 port_net) {
  char buf[INET6_ADDRSTRLEN] = {};
  std::string port = std::to_string(ntohs(port_net));
  if (v4_mapped(addr)) {
    inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
    return std::string(buf) + ":" + port;
  }
  inet_ntop(AF_INET6, addr, buf, sizeof(buf));
  return "[" + std::string(buf) + "]:" + port;
}

}  // namespace

int Flow::family() const {
  return v4_mapped(key.saddr) ? AF_INET : AF_INET6;
}
std::string Flow::src() const {
  return endpoint(key.saddr, key.sport);
}
std::string Flow::dst() const {
  return endpoint(key.daddr, key.dport);
}

wb_counter Counters::verdict_total(wb_verdict verdict) const {
  wb_counter total{};
  for (int r = 0; r < WB_REASON_MAX; ++r) {
    if (wb_reason_verdict(static_cast<wb_reason>(r)) != verdict) continue;
    total.packets += by_reason[r].packets;
    total.bytes += by_reason[r].bytes;
  }
  return total;
}

}  // namespace wb::datapath
