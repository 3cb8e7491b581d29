#include "tests/inspectors/capture_streams.h"

#include <algorithm>
#include <map>
#include <utility>

#include "agent/replay/capture.h"
#include "agent/replay/decode.h"

namespace wb::test {
namespace {

struct Segment {
  std::uint32_t seq;
  std::vector<std::uint8_t> bytes;
};

struct Direction {
  bool have_isn = false;
  std::uint32_t isn = 0;  // sequence number of the first payload byte
  std::vector<Segment> segments;
};

std::vector<std::uint8_t> reassemble(Direction& direction) {
  std::vector<std::uint8_t> out;
  std::stable_sort(direction.segments.begin(), direction.segments.end(),
                   [&](const Segment& a, const Segment& b) {
                     return a.seq - direction.isn < b.seq - direction.isn;
                   });
  for (const auto& segment : direction.segments) {
    std::uint32_t offset = segment.seq - direction.isn;
    if (offset > out.size()) break;  // a hole: stop at what is contiguous
    std::size_t skip = out.size() - offset;
    if (skip < segment.bytes.size())
      out.insert(out.end(), segment.bytes.begin() + static_cast<long>(skip), segment.bytes.end());
  }
  return out;
}

}  // namespace

CaptureStreams read_streams(const std::string& path) {
  CaptureStreams result;
  auto capture = replay::read_capture(path);
  if (!capture.ok()) {
    result.error = capture.error().message();
    return result;
  }
  // Connections in order of first appearance, keyed by (client, server).
  std::vector<std::pair<replay::Endpoint, replay::Endpoint>> order;
  std::map<std::pair<replay::Endpoint, replay::Endpoint>, std::pair<Direction, Direction>> flows;
  for (const auto& frame : capture->frames) {
    replay::Packet packet = replay::decode_frame(capture->link_type, frame.data);
    if (packet.status != replay::DecodeStatus::kOk) continue;
    if (packet.l4 == 17) {
      result.udp.push_back(
          {packet.src.str(), packet.dst.str(), {packet.payload.begin(), packet.payload.end()}});
      continue;
    }
    auto forward = std::make_pair(packet.src, packet.dst);
    auto backward = std::make_pair(packet.dst, packet.src);
    bool from_client = true;
    if (flows.count(backward)) {
      from_client = false;
    } else if (!flows.count(forward)) {
      // The first packet seen names the client, unless it is a SYN-ACK.
      bool syn_ack = (packet.tcp_flags & replay::kTcpSyn) && (packet.tcp_flags & replay::kTcpAck);
      if (syn_ack) {
        from_client = false;
        std::swap(forward, backward);
      }
      flows[forward];
      order.push_back(forward);
    }
    auto& pair = flows[from_client ? forward : backward];
    Direction& direction = from_client ? pair.first : pair.second;
    if (packet.tcp_flags & replay::kTcpSyn) {
      direction.have_isn = true;
      direction.isn = packet.seq + 1;
      continue;
    }
    if (packet.payload.empty()) continue;
    if (!direction.have_isn) {
      direction.have_isn = true;
      direction.isn = packet.seq;
    }
    direction.segments.push_back({packet.seq, {packet.payload.begin(), packet.payload.end()}});
  }
  for (const auto& key : order) {
    auto& [to_server, to_client] = flows[key];
    result.tcp.push_back(
        {key.first.str(), key.second.str(), reassemble(to_server), reassemble(to_client)});
  }
  return result;
}

}  // namespace wb::test
