// The bridge's own netfilter-call switches (IFLA_BR_NF_CALL_IPTABLES/IP6TABLES/ARPTABLES).
// libnl-route 3.7 has no accessor for bridge IFLA_INFO_DATA, so these two functions build and
// parse the RTM_GETLINK/RTM_NEWLINK messages themselves, still over the libnl socket.
//
// Note: br_netfilter calls iptables when EITHER the namespace sysctl
// net.bridge.bridge-nf-call-iptables OR the bridge's own switch is on; the sysctl is 1 by default
// in every namespace here (KERNEL-FACTS). Steering works either way because the classifier
// redirects steered frames to the bridge's ingress; the agent turns the bridge's switches off and
// leaves the namespace-wide sysctl alone (other bridges may depend on it).
#pragma once

#include <cstdint>

#include "agent/common/result.h"
#include "agent/netsetup/links.h"

namespace wb::netsetup {

struct NfCall {
  std::uint8_t iptables = 0;
  std::uint8_t ip6tables = 0;
  std::uint8_t arptables = 0;
  bool operator==(const NfCall&) const = default;
  bool any() const { return iptables != 0 || ip6tables != 0 || arptables != 0; }
};

Result<NfCall> get_nf_call(nl_sock* sock, const LinkInfo& bridge);
Status set_nf_call(nl_sock* sock, const LinkInfo& bridge, const NfCall& value);

}  // namespace wb::netsetup
