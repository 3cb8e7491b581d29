#include "agent/replay/flows.h"

#include <map>
#include <tuple>

namespace wb::replay {
namespace {

// Direction-independent key: the smaller endpoint first.
using Key = std::tuple<std::uint8_t, std::uint16_t, Endpoint, Endpoint>;

Key key_of(const Packet& p, std::uint16_t vlan) {
  return p.src < p.dst ? Key{p.l4, vlan, p.src, p.dst} : Key{p.l4, vlan, p.dst, p.src};
}

// Which side opened the flow, judged from its first packet.
void choose_client(Flow& f, const Packet& p) {
  f.client = p.src;
  f.server = p.dst;
  f.client_by = "first";
  if (p.l4 == 6 && (p.tcp_flags & kTcpSyn) != 0) {
    f.client_by = "syn";
    if ((p.tcp_flags & kTcpAck) != 0) {
      std::swap(f.client, f.server);
      f.client_by = "syn-ack";
    }
    return;
  }
  // Mid-flow start: the side on a well-known port is the server.
  if (p.src.port < 1024 && p.dst.port >= 1024) {
    std::swap(f.client, f.server);
    f.client_by = "port";
  } else if (p.dst.port < 1024 && p.src.port >= 1024) {
    f.client_by = "port";
  }
}

void add_tcp(Flow& f, const Packet& p, bool from_client) {
  StreamPrefix& dir = from_client ? f.to_server : f.to_client;
  std::uint32_t seq = p.seq;
  if ((p.tcp_flags & kTcpSyn) != 0) {
    dir.on_syn(p.seq);
    ++seq;  // a SYN occupies one sequence number; any data (TFO) follows it
  }
  if ((p.tcp_flags & kTcpRst) != 0) f.rst = true;
  if ((p.tcp_flags & kTcpFin) != 0) f.fin = true;
  // RST payloads are diagnostic text, not stream data.
  if ((p.tcp_flags & kTcpRst) == 0) dir.on_data(seq, p.payload, p.wire_payload_len);
}

}  // namespace

std::string Flow::str() const {
  return std::string(tcp() ? "tcp " : "udp ") + client.str() + " -> " + server.str() +
         (vlan != 0 ? " vlan " + std::to_string(vlan) : "");
}

FlowTable build_flows(const Capture& capture, const FlowOptions& options) {
  FlowTable table;
  table.frames = capture.frames.size();
  table.flow_of_frame.assign(capture.frames.size(), FlowTable::npos);
  std::map<Key, std::size_t> index;
  bool over_limit = false;
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    const Packet p = decode_frame(capture.link_type, capture.frames[i].data);
    switch (p.status) {
      case DecodeStatus::kOk:
        break;
      case DecodeStatus::kNotIp:
        ++table.not_ip;
        continue;
      case DecodeStatus::kOtherL4:
        ++table.other_l4;
        continue;
      case DecodeStatus::kFragment:
        ++table.fragments;
        continue;
      case DecodeStatus::kMalformed:
        if (table.malformed++ < 10) {
          table.warnings.push_back("frame " + std::to_string(capture.frames[i].number) + ": " +
                                   p.error);
        }
        continue;
    }
    const std::uint16_t vlan = p.vlans.empty() ? 0 : p.vlans.front();
    auto [it, inserted] = index.try_emplace(key_of(p, vlan), table.flows.size());
    if (inserted) {
      if (table.flows.size() >= options.max_flows) {
        index.erase(it);
        over_limit = true;
        continue;
      }
      Flow& f = table.flows.emplace_back();
      f.l4 = p.l4;
      f.vlan = vlan;
      choose_client(f, p);
    }
    Flow& f = table.flows[it->second];
    table.flow_of_frame[i] = it->second;
    f.frames.push_back(i);
    const bool from_client = p.src == f.client;
    (from_client ? f.packets_to_server : f.packets_to_client)++;
    (from_client ? f.bytes_to_server : f.bytes_to_client) += p.wire_payload_len;
    if (p.l4 == 6) {
      add_tcp(f, p, from_client);
    } else if (f.datagrams.size() < options.max_datagrams) {
      f.datagrams.push_back(
          Datagram{from_client, i, {p.payload.begin(), p.payload.end()}, p.wire_payload_len});
    }
  }
  if (table.malformed > 10) {
    table.warnings.push_back(std::to_string(table.malformed) + " malformed frames in all");
  }
  if (over_limit) {
    table.warnings.push_back("more than " + std::to_string(options.max_flows) +
                             " flows: the rest were not followed");
  }
  if (table.fragments != 0) {
    table.warnings.push_back(std::to_string(table.fragments) +
                             " IP fragments were not reassembled");
  }
  return table;
}

}  // namespace wb::replay
