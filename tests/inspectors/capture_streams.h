// Test helper: the payloads of a capture file, as the inspectors would see them relayed. TCP
// connections are reassembled per direction (in sequence order, retransmissions dropped); UDP
// datagrams are kept one by one. Built on the replay library's capture reader and frame decoder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wb::test {

struct TcpConnection {
  std::string client;  // "192.0.2.1:5060"
  std::string server;
  std::vector<std::uint8_t> to_server;
  std::vector<std::uint8_t> to_client;
};

struct UdpDatagram {
  std::string source;
  std::string destination;
  std::vector<std::uint8_t> bytes;
};

struct CaptureStreams {
  std::vector<TcpConnection> tcp;
  std::vector<UdpDatagram> udp;
  std::string error;  // empty when the capture was read
};

CaptureStreams read_streams(const std::string& path);

}  // namespace wb::test
