// Shared fixture of the BPF tests: a private (unpinned) datapath per test, and a helper that
// runs one frame through the real classifier program (BPF_PROG_TEST_RUN).
#pragma once

#include <gtest/gtest.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "agent/common/unique_fd.h"
#include "agent/datapath/datapath.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

class ClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dp = datapath::Datapath::open_unpinned();
    if (!dp.ok() && geteuid() != 0 && dp.error().code == std::errc::operation_not_permitted) {
      // The one capability these tests cannot do without; as root (CI) a failure is a failure.
      std::fprintf(stderr, "SKIP: loading BPF programs needs root (CAP_BPF, CAP_NET_ADMIN): %s\n",
                   dp.error().message().c_str());
      std::exit(77);
    }
    ASSERT_TRUE(dp.ok()) << dp.error().message();
    dp_.emplace(std::move(dp).value());
  }

  datapath::Decision run(const Bytes& frame) {
    auto d = dp_->classify(frame);
    EXPECT_TRUE(d.ok()) << d.error().message() << " (frame of " << frame.size() << " bytes)";
    // Every decision's verdict is the one its reason belongs to (bpf/wirebump_abi.h).
    if (d.ok()) {
      EXPECT_EQ(d->verdict, wb_reason_verdict(d->reason)) << "reason " << d->reason;
    }
    return d.ok() ? *d : datapath::Decision{WB_VERDICT_MAX, WB_REASON_MAX, WB_CLASS_MAX, -1};
  }
  datapath::Decision run(const FrameSpec& spec) { return run(build_frame(spec)); }

  wb_reason reason(const FrameSpec& spec) { return run(spec).reason; }
  wb_flow_class flow_class(const FrameSpec& spec) { return run(spec).flow_class; }

  void configure(void (*edit)(wb_config&)) {
    auto cfg = dp_->config();
    ASSERT_TRUE(cfg.ok());
    edit(*cfg);
    ASSERT_TRUE(dp_->set_config(*cfg).ok());
  }

  std::optional<datapath::Datapath> dp_;
};

// A listening socket of the family, registered as the agent's listener (dry run: the decision
// is made without assigning the socket or redirecting).
class ListenerTest : public ClassifierTest {
 protected:
  UniqueFd listen_on(int family) {
    UniqueFd s(socket(family, SOCK_STREAM, 0));
    sockaddr_storage ss{};
    ss.ss_family = static_cast<sa_family_t>(family);
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (family == AF_INET6) {
      int on = 1;
      setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    EXPECT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
    EXPECT_EQ(listen(s.get(), 4), 0);
    return s;
  }
};

inline FrameSpec tcp_syn(int ip_version = 4, std::uint16_t dport = 443) {
  FrameSpec s;
  s.ip_version = ip_version;
  if (ip_version == 6) {
    s.src = "2001:db8::1";
    s.dst = "2001:db8::2";
  }
  s.dport = dport;
  return s;
}

inline FrameSpec udp(const Bytes& payload, std::uint16_t dport = 443, int ip_version = 4) {
  FrameSpec s = tcp_syn(ip_version, dport);
  s.l4 = 17;
  s.payload = payload;
  return s;
}

}  // namespace wb::test
