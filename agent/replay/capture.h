// Reading a capture file (pcap or pcapng, through libpcap) into memory, frame by frame.
//
// Every raw frame is kept as captured so `wirebump replay` can hand it to the kernel classifier
// (BPF_PROG_TEST_RUN) as well as to the flow reassembly. Damage is reported, not fatal, when
// something was readable: a truncated or corrupt file yields the frames before the damage plus a
// warning; a file libpcap cannot open at all, or a link type we cannot decode, is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agent/common/result.h"

namespace wb::replay {

// Link types we decode (values are libpcap DLT_* numbers as pcap_datalink() returns them).
enum class LinkType : int {
  kNull = 0,        // BSD loopback: 4-byte address family in the capturing host's byte order
  kEthernet = 1,    // Ethernet II, optional 802.1Q/802.1ad VLAN tags
  kRaw = 12,        // raw IPv4/IPv6 (LINKTYPE_RAW 101)
  kRawAlt = 14,     // DLT_RAW as some BSDs number it
  kLoop = 108,      // OpenBSD loopback: address family in network byte order
  kLinuxSll = 113,  // Linux cooked capture v1
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,  // Linux cooked capture v2
};
bool link_type_supported(int dlt);

struct Frame {
  std::size_t number = 0;          // 1-based, as Wireshark numbers frames
  std::int64_t ts_usec = 0;        // capture timestamp, microseconds since the epoch
  std::uint32_t orig_len = 0;      // length on the wire
  std::vector<std::uint8_t> data;  // captured bytes (shorter than orig_len when snaplen-cut)
  bool cut() const { return data.size() < orig_len; }
};

struct Capture {
  int link_type = 0;
  std::string link_name;  // "EN10MB", "LINUX_SLL" ...
  int snaplen = 0;
  std::vector<Frame> frames;
  std::vector<std::string> warnings;  // damage that did not stop the read
  bool damaged = false;               // the file ended in a corrupt or truncated record
};

struct ReadLimits {
  std::size_t max_frames = 10'000'000;
  std::size_t max_bytes = std::size_t{4} << 30;  // total captured bytes kept in memory
};

// Reads a pcap or pcapng file.
Result<Capture> read_capture(const std::string& path, const ReadLimits& limits = {});
// Same, from bytes in memory (tests and the fuzzer).
Result<Capture> read_capture(std::span<const std::uint8_t> bytes, const ReadLimits& limits = {});

}  // namespace wb::replay
