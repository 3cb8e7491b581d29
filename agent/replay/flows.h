// Grouping a capture's frames into flows (5-tuple + VLAN, both directions) with each TCP
// direction's first bytes reassembled and each UDP flow's first datagrams kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/peek/peek.h"
#include "agent/replay/capture.h"
#include "agent/replay/decode.h"
#include "agent/replay/stream_prefix.h"

namespace wb::replay {

struct Datagram {
  bool from_client = true;
  std::size_t frame = 0;  // index into Capture::frames
  std::vector<std::uint8_t> bytes;
  std::size_t wire_len = 0;  // > bytes.size() when cut by the snapshot length
};

struct Flow {
  std::uint8_t l4 = 0;     // 6 TCP, 17 UDP
  std::uint16_t vlan = 0;  // outermost VLAN id, 0 if untagged
  Endpoint client, server;
  // How the client side was chosen: "syn" (it sent the SYN), "syn-ack", "port" (the other
  // side's port is a well-known one), "first" (it sent the first packet).
  std::string client_by;
  std::vector<std::size_t> frames;  // indices into Capture::frames, in capture order
  std::size_t packets_to_server = 0, packets_to_client = 0;
  std::size_t bytes_to_server = 0, bytes_to_client = 0;  // transport payload on the wire
  StreamPrefix to_server{peek::kMaxPeekBytes}, to_client{peek::kMaxPeekBytes};  // TCP
  std::vector<Datagram> datagrams;  // UDP: the first few, both directions
  bool rst = false, fin = false;

  bool tcp() const { return l4 == 6; }
  std::string str() const;  // "tcp 192.0.2.1:50000 -> 192.0.2.2:443"
};

struct FlowOptions {
  std::size_t max_flows = 100'000;
  std::size_t max_datagrams = 8;  // per UDP flow
};

struct FlowTable {
  std::vector<Flow> flows;  // in order of first appearance
  std::size_t frames = 0, not_ip = 0, other_l4 = 0, fragments = 0, malformed = 0;
  std::vector<std::string> warnings;
  // Per frame: the flow it belongs to, or npos (not TCP/UDP, malformed, over max_flows).
  std::vector<std::size_t> flow_of_frame;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

FlowTable build_flows(const Capture& capture, const FlowOptions& options = {});

}  // namespace wb::replay
