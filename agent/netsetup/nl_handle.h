// RAII owners for libnl objects and the mapping of libnl error codes back to errno, so that
// every netlink failure becomes a wb::Error whose message reads like the kernel's
// ("enslave eth1 to br0: Operation not permitted").
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include <memory>
#include <string>

#include "agent/common/result.h"

namespace wb::netsetup {

template <class T, void (*Free)(T*)>
struct NlFree {
  void operator()(T* object) const {
    if (object != nullptr) Free(object);
  }
};

using NlSocket = std::unique_ptr<nl_sock, NlFree<nl_sock, nl_socket_free>>;
using NlMsg = std::unique_ptr<nl_msg, NlFree<nl_msg, nlmsg_free>>;
using NlAddr = std::unique_ptr<nl_addr, NlFree<nl_addr, nl_addr_put>>;
using NlLink = std::unique_ptr<rtnl_link, NlFree<rtnl_link, rtnl_link_put>>;
using NlRule = std::unique_ptr<rtnl_rule, NlFree<rtnl_rule, rtnl_rule_put>>;
using NlRoute = std::unique_ptr<rtnl_route, NlFree<rtnl_route, rtnl_route_put>>;

// A connected NETLINK_ROUTE socket in the calling thread's network namespace.
Result<NlSocket> open_route_socket();

// libnl returns negative NLE_* codes (it folds the kernel's errno into them); this maps them
// back to the errno the kernel most likely reported.
int nl_errno(int nl_error);
Error nl_error(int nl_error, std::string context);

}  // namespace wb::netsetup
