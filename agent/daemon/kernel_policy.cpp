#include "agent/daemon/kernel_policy.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace wb::daemon {

datapath::Cidr to_datapath_cidr(const config::Cidr& cidr) {
  datapath::Cidr out;
  out.family = cidr.family;
  out.addr = cidr.addr;
  out.prefix_len = cidr.prefix;
  return out;
}

namespace {

Status apply_operator_policy(datapath::Datapath& dp, const config::Config& cfg) {
  WB_TRY_ASSIGN(auto ports, dp.ports());
  for (auto port : ports) {
    if (std::find(cfg.candidate_ports.begin(), cfg.candidate_ports.end(), port) ==
        cfg.candidate_ports.end()) {
      WB_TRY(dp.del_port(port));
    }
  }
  for (auto port : cfg.candidate_ports) WB_TRY(dp.add_port(port));
  for (const auto& cidr : cfg.bypass_src) {
    WB_TRY(dp.add_bypass(datapath::Side::source, to_datapath_cidr(cidr)));
  }
  for (const auto& cidr : cfg.bypass_dst) {
    WB_TRY(dp.add_bypass(datapath::Side::destination, to_datapath_cidr(cidr)));
  }
  return {};
}

}  // namespace

Status apply_kernel_policy(datapath::Datapath& dp, const config::Config& cfg,
                           const netsetup::BridgeInfo& bridge, bool fresh_pins) {
  WB_TRY_ASSIGN(wb_config kernel, dp.config());
  kernel.bridge_ifindex = static_cast<__u32>(bridge.bridge.ifindex);
  std::memcpy(kernel.bridge_mac, bridge.bridge.mac.data(), sizeof(kernel.bridge_mac));
  kernel.steer_mark = cfg.steer_mark;
  kernel.agent_pid = static_cast<__u32>(::getpid());
  kernel.flags = 0;  // never a dry run on a live bridge
  if (kernel.quic_port == 0) kernel.quic_port = 443;
  if (fresh_pins) {
    kernel.intercept_enabled = cfg.intercept ? 1 : 0;
    kernel.block_quic = cfg.block_quic ? 1 : 0;
    WB_TRY(apply_operator_policy(dp, cfg));
  }
  return dp.set_config(kernel);
}

Status apply_crl_steering(datapath::Datapath& dp, const RevocationServer* server) {
  std::vector<datapath::Cidr> hosts;
  if (server != nullptr) {
    for (const auto& ep : server->steered_addresses()) {
      WB_TRY_ASSIGN(auto host, datapath::Cidr::parse(ep.address_string()));
      hosts.push_back(host);
    }
    // Listeners first: an address without a listener only fails open, never the reverse.
    for (int fd : server->steering_listener_fds()) WB_TRY(dp.set_crl_listener(fd));
  }
  return dp.set_crl_addresses(hosts);
}

}  // namespace wb::daemon
