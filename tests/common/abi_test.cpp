// The ABI header compiles in C++ with the same sizes the BPF side asserts (the BPF build
// compiles the same header with clang -target bpf, so a layout change fails one of the two).
#include "bpf/wirebump_abi.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace {

static_assert(offsetof(wb_flow_key, sport) == 32, "ports follow the two 16-byte addresses");
static_assert(offsetof(wb_flow_value, verdict) == 32);
static_assert(offsetof(wb_config, bridge_mac) == 16);
static_assert(WB_REASON_MAX <= 64, "reason codes fit the counter map");

TEST(Abi, EveryReasonBelongsToOneVerdict) {
  int per_verdict[WB_VERDICT_MAX] = {};
  for (int r = 0; r < WB_REASON_MAX; ++r) {
    wb_verdict v = wb_reason_verdict(static_cast<wb_reason>(r));
    ASSERT_LT(v, WB_VERDICT_MAX) << "reason " << r;
    per_verdict[v]++;
  }
  EXPECT_GT(per_verdict[WB_VERDICT_BYPASS], 0);
  EXPECT_GT(per_verdict[WB_VERDICT_STEER], 0);
  EXPECT_EQ(per_verdict[WB_VERDICT_DROP], 1);
  EXPECT_EQ(wb_reason_verdict(WB_REASON_AGENT_DOWN), WB_VERDICT_BYPASS);
  EXPECT_EQ(wb_reason_verdict(WB_REASON_STEER_SYN), WB_VERDICT_STEER);
  EXPECT_EQ(wb_reason_verdict(WB_REASON_QUIC_BLOCKED), WB_VERDICT_DROP);
}

}  // namespace
