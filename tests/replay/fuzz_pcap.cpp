// libFuzzer target for the capture path of `wirebump replay`: libpcap reading from memory, frame
// decoding for every supported link type, the frame a kernel test run is given, flow building with
// TCP reassembly, and the classifier on what that yields. Bad captures must come back as errors or
// warnings, never crashes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/replay/flows.h"
#include "agent/replay/test_run_frame.h"

namespace {

// Link types decode_frame knows, and one it does not (DLT_IEEE802_11 = 105).
constexpr int kLinkTypes[] = {0, 1, 12, 14, 108, 113, 228, 229, 276, 105};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (size > 0 && data[0] < 0x10) {
    // A single frame: first byte picks the link type.
    const int dlt = kLinkTypes[data[0] % std::size(kLinkTypes)];
    const wb::replay::Packet p = wb::replay::decode_frame(dlt, in.subspan(1));
    if (p.status == wb::replay::DecodeStatus::kOk) {
      (void)wb::peek::classify_client(p.payload);
      (void)wb::replay::as_ethernet(dlt, in.subspan(1), p);
    }
    // Every status, and a limit that cuts inside the headers as often as after them.
    const std::size_t limit = 14 + (size > 1 ? data[1] : 0);
    (void)wb::replay::test_run_frame(dlt, in.subspan(1), p, limit);
    return 0;
  }
  wb::replay::ReadLimits limits;
  limits.max_frames = 4096;
  limits.max_bytes = 4 << 20;
  auto cap = wb::replay::read_capture(in, limits);
  if (!cap.ok()) return 0;
  const wb::replay::FlowTable table = wb::replay::build_flows(*cap);
  for (const auto& f : table.flows) {
    (void)wb::peek::classify_client(f.to_server.contiguous());
    (void)wb::peek::classify_server(f.to_client.contiguous());
  }
  return 0;
}
