// Reads a pcap/pcapng capture (libpcap) into Ethernet frames the classifier can run on:
// Ethernet frames as they are, Linux cooked (SLL), BSD loopback (NULL) and raw IP wrapped in a
// synthetic Ethernet header.
#pragma once

#include <string>
#include <vector>

#include "agent/common/result.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

Result<std::vector<Bytes>> read_capture_frames(const std::string& path);

}  // namespace wb::test
