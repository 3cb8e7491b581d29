// libFuzzer target: arbitrary bytes as an Ethernet frame through the real classifier program
// (BPF_PROG_TEST_RUN; needs root and BPF like the bpf tests). The kernel's verifier already
// proves memory safety; this checks the decisions: with no listener nothing is ever steered,
// only a blocked QUIC Initial is ever dropped, and every frame the kernel accepts gets a decision.
#include <linux/pkt_cls.h>

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "agent/datapath/datapath.h"
#include "tests/support/packet_builder.h"

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

// The kernel side gives libFuzzer no coverage feedback, so raw bytes rarely get past the
// Ethernet header. Structure-aware mode: byte 0 picks a well-formed base frame (every layer
// the classifier parses), byte 1 a truncation, then (offset, value) pairs overwrite bytes.
std::vector<wb::test::Bytes> base_frames() {
  using namespace wb::test;
  std::vector<FrameSpec> specs(8);
  specs[1].ip_version = 6, specs[1].src = "2001:db8::1", specs[1].dst = "2001:db8::2";
  specs[1].ipv6_ext = {0, 43, 44, 60};
  specs[2].vlan_tpids = {0x88a8, 0x8100}, specs[2].ipv4_option_words = 3;
  specs[3].l4 = 17, specs[3].payload = quic_initial(1);
  specs[4].l4 = 17, specs[4].payload = stun_binding_request();
  specs[5].l4 = 17, specs[5].payload = gquic_q043_chlo();
  specs[6].tcp_flags = kTcpAck, specs[6].payload = from_hex("160301002d");
  specs[7].l4 = 17, specs[7].ip_version = 6, specs[7].src = "2001:db8::1";
  specs[7].dst = "2001:db8::2", specs[7].payload = quic_initial(0x6b3343cf);
  std::vector<Bytes> out;
  for (const auto& spec : specs) out.push_back(build_frame(spec));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  static const std::vector<wb::test::Bytes> bases = base_frames();
  wb::test::Bytes frame(data, data + size);  // odd first byte: raw bytes as they are
  if (size >= 2 && (data[0] & 1) == 0) {
    frame = bases[(data[0] >> 1) % bases.size()];
    for (std::size_t i = 2; i + 1 < size; i += 2) frame[data[i] % frame.size()] = data[i + 1];
    if (data[1] != 0) frame.resize(std::min<std::size_t>(frame.size(), data[1] * 8u));
  }
  auto d = datapath().classify(frame);
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
