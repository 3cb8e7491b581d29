// Writes the agent's view of the world into the datapath's maps at start-up: where to steer (the
// bridge's ifindex and MAC, the mark) always; the operator policy (switch, QUIC blocking,
// candidate ports, bypass CIDRs) from the config only when the pins are new. A restarted agent
// (pins reused) keeps what operators changed at run time with the CLI.
#pragma once

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/daemon/revocation_http.h"
#include "agent/datapath/datapath.h"
#include "agent/netsetup/netsetup.h"

namespace wb::daemon {

datapath::Cidr to_datapath_cidr(const config::Cidr& cidr);

Status apply_kernel_policy(datapath::Datapath& dp, const config::Config& cfg,
                           const netsetup::BridgeInfo& bridge, bool fresh_pins);

// The CRL host's addresses that are not the bridge's (server->steered_addresses()) into
// wb_crl_addr and the revocation server's transparent listeners into the SOCKMAP's CRL slots,
// replacing what an earlier agent left. A null server (revocation HTTP not served) clears the
// addresses: nothing would answer them.
Status apply_crl_steering(datapath::Datapath& dp, const RevocationServer* server);

}  // namespace wb::daemon
