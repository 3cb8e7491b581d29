#include "agent/replay/flow_protocol.h"

#include <cstdio>

#include "agent/datapath/datapath.h"

namespace wb::replay {
namespace {

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

// Names from the wire shown to a terminal or put in JSON: bytes outside printable ASCII as \xNN
// (no escape sequences reach the terminal, no invalid UTF-8 reaches the JSON writer).
std::string printable(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string protocol_of(peek::Kind kind) {
  switch (kind) {
    case peek::Kind::kHttp1:
      return "http";
    case peek::Kind::kHttp2:
      return "http/2";
    default:
      return std::string(peek::kind_name(kind));
  }
}

nlohmann::json details_of(const peek::Peek& p) {
  nlohmann::json d = nlohmann::json::object();
  switch (p.kind) {
    case peek::Kind::kTls: {
      const peek::ClientHello& h = p.hello;
      if (!h.sni.empty()) d["sni"] = printable(h.sni);
      if (!h.alpn.empty()) {
        nlohmann::json alpn = nlohmann::json::array();
        for (const std::string& a : h.alpn) alpn.push_back(printable(a));
        d["alpn"] = alpn;
      }
      if (h.legacy_version != 0) d["version"] = hex16(h.max_version());
      if (h.ech) d["ech"] = true;
      if (h.sslv2) d["sslv2"] = true;
      if (h.status_request) d["status_request"] = true;
      if (h.length != 0) d["hello_bytes"] = h.length;
      break;
    }
    case peek::Kind::kPseudoTls:
      d["inspector"] = "ms-turn";
      break;
    case peek::Kind::kSip:
    case peek::Kind::kHttp1:
      if (!p.line.method.empty()) d["method"] = printable(p.line.method);
      if (p.line.status != 0) d["status"] = p.line.status;
      if (!p.line.target.empty()) d["target"] = printable(p.line.target);
      break;
    case peek::Kind::kStun:
    case peek::Kind::kMsTurn:
    case peek::Kind::kTurnChannel:
      d["type"] = hex16(p.stun.type);
      if (p.stun.frame_type != 0) d["framing"] = p.stun.frame_type;
      if (p.stun.channel != 0) d["channel"] = hex16(p.stun.channel);
      break;
    default:
      break;
  }
  return d;
}

Detected from_peek(const peek::Peek& p, bool server_first) {
  Detected d;
  d.peek = p;
  d.server_first = server_first;
  if (p.need_more()) {
    d.protocol = "incomplete";
  } else if (p.status == peek::Status::kError) {
    d.protocol = "malformed";
    d.details["claimed"] = protocol_of(p.kind);
    d.details["error"] = p.error;
  } else {
    d.protocol = protocol_of(p.kind);
    d.details = details_of(p);
  }
  if (server_first) d.details["server_first"] = true;
  return d;
}

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
         static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

bool ascii_q_version(std::span<const std::uint8_t> b, std::size_t at) {
  return b.size() >= at + 4 && (b[at] == 'Q' || b[at] == 'T') && b[at + 1] >= '0' &&
         b[at + 1] <= '9' && b[at + 2] >= '0' && b[at + 2] <= '9' && b[at + 3] >= '0' &&
         b[at + 3] <= '9';
}

}  // namespace

std::string Detected::summary() const {
  std::string s = protocol;
  for (const auto& [key, value] : details.items()) {
    s += " " + key;
    if (value.is_boolean()) continue;
    std::string v;
    if (value.is_array()) {
      for (const auto& x : value) v += (v.empty() ? "" : ",") + x.get<std::string>();
    } else {
      v = value.is_string() ? value.get<std::string>() : value.dump();
    }
    s += "=" + v;
  }
  return s;
}

std::string quic_version(std::span<const std::uint8_t> b) {
  if (b.size() >= 5 && (b[0] & 0x80) != 0) {
    const std::uint32_t v = be32(b, 1);
    if (ascii_q_version(b, 1)) return std::string(b.begin() + 1, b.begin() + 5);
    if (v == 1) return "v1";
    if (v == 0x6b3343cf) return "v2";
    if ((v & 0xffffff00) == 0xff000000) return "draft-" + std::to_string(v & 0xff);
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
  }
  // Old gQUIC: public flags (version bit 0x01), 8-byte connection id, ASCII version at 9.
  if (b.size() >= 13 && (b[0] & 0x01) != 0 && ascii_q_version(b, 9)) {
    return std::string(b.begin() + 9, b.begin() + 13);
  }
  return {};
}

Detected detect_tcp(const Flow& flow) {
  const auto client = flow.to_server.contiguous();
  const auto server = flow.to_client.contiguous();
  if (client.empty() && server.empty()) {
    Detected d;
    d.protocol = flow.to_server.segments() + flow.to_client.segments() == 0 ? "none" : "incomplete";
    return d;
  }
  const peek::Peek c = peek::classify_client(client);
  // The server spoke first (a banner), or the client's bytes never decided anything.
  if ((client.empty() || c.need_more()) && !server.empty()) {
    const peek::Peek s = peek::classify_server(server);
    if (!s.need_more()) return from_peek(s, true);
  }
  return from_peek(c, false);
}

Detected detect_udp(const Flow& flow, std::optional<wb_flow_class> kernel_class) {
  const Datagram* first = nullptr;
  for (const Datagram& d : flow.datagrams) {
    if (!d.bytes.empty()) {
      first = &d;
      break;
    }
  }
  Detected out;
  if (first == nullptr) {
    out.protocol = "none";
    return out;
  }
  // SIP has no kernel class: ask the first-bytes classifier first.
  const peek::Peek p = peek::classify_client(first->bytes);
  if (p.done() && p.kind == peek::Kind::kSip) return from_peek(p, false);
  if (kernel_class && *kernel_class != WB_CLASS_UNKNOWN) {
    switch (*kernel_class) {
      case WB_CLASS_QUIC:
      case WB_CLASS_GQUIC:
        out.protocol = *kernel_class == WB_CLASS_QUIC ? "quic" : "gquic";
        if (auto v = quic_version(first->bytes); !v.empty()) out.details["version"] = v;
        return out;
      case WB_CLASS_STUN:
        if (p.done() && p.kind != peek::Kind::kUnknown) return from_peek(p, false);
        out.protocol = "stun";
        return out;
      case WB_CLASS_CLASSIC_STUN:
        out.protocol = "classic-stun";
        return out;
      case WB_CLASS_MSTURN_MUX:
        out.protocol = "ms-turn-mux";
        return out;
      case WB_CLASS_TURN_CHANNEL:
        out.protocol = "turn-channel";
        return out;
      default:
        out.protocol = datapath::class_name(*kernel_class);
        return out;
    }
  }
  if (p.done() && p.kind != peek::Kind::kUnknown) return from_peek(p, false);
  out.protocol = "unknown";
  return out;
}

}  // namespace wb::replay
