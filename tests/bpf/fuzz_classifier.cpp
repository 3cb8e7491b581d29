// libFuzzer target: arbitrary bytes as an Ethernet frame through the real classifier program
// (BPF_PROG_TEST_RUN; needs root and BPF like the bpf tests). The kernel's verifier already
// proves memory safety; this checks the decisions: with no listener nothing is ever steered,
// only a blocked QUIC Initial is ever dropped, and every frame the kernel accepts gets a decision.
#include <linux/pkt_cls.h>

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "agent/datapath/datapath.h"

namespace {

wb::datapath::Datapath& datapath() {
  static std::optional<wb::datapath::Datapath> dp = [] {
    auto opened = wb::datapath::Datapath::open_unpinned();
    if (!opened) std::abort();  // no BPF here: nothing to fuzz
    auto cfg = opened->config();
    cfg->block_quic = 1;
    if (!opened->set_config(*cfg)) std::abort();
    return std::optional<wb::datapath::Datapath>(std::move(opened).value());
  }();
  return *dp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  auto d = datapath().classify(std::span<const std::uint8_t>(data, size));
  if (!d) return 0;  // frames the kernel's test run refuses (too short for their ethertype)
  if (d->verdict == WB_VERDICT_STEER) std::abort();
  // (The decision's class is the flow's first class, which a random earlier frame on the same
  // 5-tuple may have set, so only the reason ties a drop to QUIC here.)
  if (d->verdict == WB_VERDICT_DROP &&
      (d->reason != WB_REASON_QUIC_BLOCKED || d->tc_action != TC_ACT_SHOT))
    std::abort();
  if (d->verdict == WB_VERDICT_BYPASS && d->tc_action != TC_ACT_OK) std::abort();
  if (d->reason >= WB_REASON_MAX || d->flow_class >= WB_CLASS_MAX) std::abort();
  return 0;
}
