// e2e fixture: the Topology (client / bridge / server namespaces) with the datapath loaded,
// its maps pinned under a unique /sys/fs/bpf/wbt-* directory and the classifier attached to
// both bridge ports. Everything (filters, pins, namespaces) is removed in TearDown, also when
// an assertion failed.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "agent/datapath/datapath.h"
#include "tests/support/topology.h"

namespace wb::test {

constexpr std::uint32_t kSteerMark = 0x100;
constexpr int kSteerTable = 100;

class DatapathE2E : public ::testing::Test {
 protected:
  void SetUp() override;
  // Native/generic XDP redirect between veths needs tx checksum offload off (KERNEL-FACTS.md).
  virtual TopologyOptions topology_options() const { return {}; }
  void TearDown() override;

  // Counter of one reason, summed over CPUs.
  std::uint64_t packets(wb_reason reason);
  // The policy-routing rule and local route the agent installs for steered packets.
  void install_policy_routing();
  // Waits until a TCP/UDP port listens in a namespace.
  bool listening(const std::string& ns, const std::string& proto, int port);

  std::unique_ptr<Topology> topo_;
  std::optional<datapath::Datapath> dp_;
  std::string pin_dir_;
  int eth1_ = -1, eth2_ = -1, br0_ = -1;
};

// UDP 443 in the server namespace: a receiver that logs the first 8 bytes (hex) and the size
// of every datagram; returns the log's path once the port is bound ("" if it never was).
std::string start_udp443_logger(Topology& topo);
// From the client namespace to the server's UDP 443: a QUIC v1 Initial padded to 1200 bytes,
// then a STUN Binding request, each from a fresh socket (a flow keeps its first class).
CommandResult send_quic_initial_and_stun(Topology& topo);
constexpr const char* kQuicInitialHex = "c300000001";  // how the logger shows each
constexpr const char* kStunHex = "00010008";

}  // namespace wb::test
