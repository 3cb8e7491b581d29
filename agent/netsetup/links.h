// Interface operations the bridge setup needs, over rtnetlink (libnl-route-3): look up,
// create and delete a bridge, enslave and release ports, bring links up and down.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "agent/common/result.h"
#include "agent/netsetup/nl_handle.h"

namespace wb::netsetup {

struct LinkInfo {
  std::string name;
  int ifindex = 0;
  int master_ifindex = 0;  // 0: not enslaved
  bool up = false;         // IFF_UP (administratively up)
  bool is_bridge = false;
  std::array<std::uint8_t, 6> mac{};
};

// ENODEV ("find interface eth3: No such device") when it does not exist.
Result<LinkInfo> get_link(nl_sock* sock, const std::string& name);
Result<LinkInfo> get_link(nl_sock* sock, int ifindex);
bool link_exists(nl_sock* sock, const std::string& name);

Status create_bridge(nl_sock* sock, const std::string& name);
Status delete_link(nl_sock* sock, const std::string& name);
Status enslave(nl_sock* sock, const LinkInfo& port, const LinkInfo& bridge);
Status release(nl_sock* sock, const LinkInfo& port);
Status set_up(nl_sock* sock, const LinkInfo& link, bool up);

}  // namespace wb::netsetup
