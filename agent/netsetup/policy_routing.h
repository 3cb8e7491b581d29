// The policy routing that delivers steered frames locally (KERNEL-FACTS "Steering"):
//   ip rule add fwmark M/M lookup T priority P          (IPv4 and IPv6)
//   ip route add local 0.0.0.0/0 dev lo table T  and  local ::/0 dev lo table T
// The classifier marks steered skbs with M; the rule sends them to table T, whose only route
// says "every destination is local", so the transparent listener receives them.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "agent/common/result.h"
#include "agent/netsetup/nl_handle.h"

namespace wb::netsetup {

struct SteeringRouting {
  std::uint32_t mark = 0;
  std::uint32_t mask = 0;
  std::uint32_t table = 0;
  std::uint32_t priority = 0;
  bool operator==(const SteeringRouting&) const = default;
};

// "fwmark 0x1/0x1 lookup 100 priority 100 (ipv4)": names the rule in errors and logs.
std::string describe_rule(int family, const SteeringRouting& routing);
std::string describe_local_route(int family, const SteeringRouting& routing);

// Add returns true when it added the object, false when an identical one was already there
// (someone else's, or ours from a run that was killed: the caller decides using its state).
Result<bool> add_rule(nl_sock* sock, int family, const SteeringRouting& routing);
Result<bool> add_local_route(nl_sock* sock, int family, const SteeringRouting& routing,
                             int loopback_ifindex);
// Delete treats "not there" as done.
Status delete_rule(nl_sock* sock, int family, const SteeringRouting& routing);
Status delete_local_route(nl_sock* sock, int family, const SteeringRouting& routing,
                          int loopback_ifindex);

}  // namespace wb::netsetup
