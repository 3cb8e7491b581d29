// The Ethernet frame BPF_PROG_TEST_RUN is given for one captured packet.
//
// A test run takes one linear buffer of about a page (the kernel refuses more with EINVAL), but
// captures hold GRO/TSO-merged segments of up to 64 KiB, and frames cut by the snapshot length
// whose IP header claims more than was captured (the classifier would call them malformed). On
// the bridge such packets reach the classifier whole, as non-linear skbs, and it reads only the
// headers and the first payload bytes. So a frame like that is judged on its first bytes, with the
// IP (and UDP) length fields set to the bytes kept: the decision the bridge would make, and the
// frame is counted so the report can say so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/replay/decode.h"

namespace wb::replay {

// Below the kernel's limit (PAGE_SIZE minus skb headroom and shared info: 3,710 bytes on x86-64
// with 4 KiB pages), far above what the classifier reads (headers + the first UDP bytes).
inline constexpr std::size_t kTestRunMaxFrame = 3584;

struct TestRunFrame {
  std::vector<std::uint8_t> bytes;
  bool shortened = false;  // cut to fit, or the lengths rewritten to what the capture kept
};

// `packet` is decode_frame(link_type, frame).
TestRunFrame test_run_frame(int link_type, std::span<const std::uint8_t> frame,
                            const Packet& packet, std::size_t max_bytes = kTestRunMaxFrame);

}  // namespace wb::replay
