#include "agent/netsetup/links.h"

#include <net/if.h>
#include <netlink/route/link/bridge.h>

#include <cerrno>
#include <cstring>

namespace wb::netsetup {
namespace {

Result<LinkInfo> lookup(nl_sock* sock, int ifindex, const char* name, const std::string& what) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock, ifindex, name, &raw);
  NlLink link(raw);
  if (err < 0) {
    // The kernel says ENODEV for a missing name; libnl folds it into NLE_OBJ_NOTFOUND or
    // NLE_NODEV depending on the path, so both become "No such device".
    int code = nl_errno(err);
    if (code == ENOENT) code = ENODEV;
    return errno_error(code, "find interface " + what);
  }
  LinkInfo info;
  info.name = rtnl_link_get_name(link.get());
  info.ifindex = rtnl_link_get_ifindex(link.get());
  info.master_ifindex = rtnl_link_get_master(link.get());
  info.up = (rtnl_link_get_flags(link.get()) & IFF_UP) != 0;
  info.is_bridge = rtnl_link_is_bridge(link.get()) != 0;
  if (nl_addr* addr = rtnl_link_get_addr(link.get());
      addr != nullptr && nl_addr_get_len(addr) == info.mac.size()) {
    std::memcpy(info.mac.data(), nl_addr_get_binary_addr(addr), info.mac.size());
  }
  return info;
}

}  // namespace

Result<LinkInfo> get_link(nl_sock* sock, const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return make_error(std::errc::invalid_argument, "interface name '" + name + "'");
  }
  return lookup(sock, 0, name.c_str(), name);
}

Result<LinkInfo> get_link(nl_sock* sock, int ifindex) {
  return lookup(sock, ifindex, nullptr, "#" + std::to_string(ifindex));
}

bool link_exists(nl_sock* sock, const std::string& name) {
  return get_link(sock, name).ok();
}

Status create_bridge(nl_sock* sock, const std::string& name) {
  int err = rtnl_link_bridge_add(sock, name.c_str());
  if (err < 0) return nl_error(err, "create bridge " + name);
  return {};
}

Status delete_link(nl_sock* sock, const std::string& name) {
  NlLink link(rtnl_link_alloc());
  if (!link) return make_error(std::errc::not_enough_memory, "delete " + name);
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sock, link.get());
  if (err < 0) return nl_error(err, "delete " + name);
  return {};
}

Status enslave(nl_sock* sock, const LinkInfo& port, const LinkInfo& bridge) {
  int err = rtnl_link_enslave_ifindex(sock, bridge.ifindex, port.ifindex);
  if (err < 0) return nl_error(err, "enslave " + port.name + " to " + bridge.name);
  return {};
}

Status release(nl_sock* sock, const LinkInfo& port) {
  int err = rtnl_link_release_ifindex(sock, port.ifindex);
  if (err < 0) return nl_error(err, "release " + port.name + " from its bridge");
  return {};
}

Status set_up(nl_sock* sock, const LinkInfo& link, bool up) {
  NlLink current(rtnl_link_alloc());
  NlLink change(rtnl_link_alloc());
  if (!current || !change) return make_error(std::errc::not_enough_memory, "set " + link.name);
  rtnl_link_set_ifindex(current.get(), link.ifindex);
  rtnl_link_set_ifindex(change.get(), link.ifindex);
  if (up) {
    rtnl_link_set_flags(change.get(), IFF_UP);
  } else {
    rtnl_link_unset_flags(change.get(), IFF_UP);
  }
  int err = rtnl_link_change(sock, current.get(), change.get(), 0);
  if (err < 0) return nl_error(err, "set " + link.name + (up ? " up" : " down"));
  return {};
}

}  // namespace wb::netsetup
