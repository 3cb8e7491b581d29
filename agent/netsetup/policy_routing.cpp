#include "agent/netsetup/policy_routing.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstdio>

namespace wb::netsetup {
namespace {

const char* family_name(int family) {
  return family == AF_INET6 ? "ipv6" : "ipv4";
}
const char* any_prefix(int family) {
  return family == AF_INET6 ? "::/0" : "0.0.0.0/0";
}

Result<NlRule> make_rule(int family, const SteeringRouting& routing, const std::string& what) {
  NlRule rule(rtnl_rule_alloc());
  if (!rule) return make_error(std::errc::not_enough_memory, what);
  rtnl_rule_set_family(rule.get(), family);
  rtnl_rule_set_mark(rule.get(), routing.mark);
  rtnl_rule_set_mask(rule.get(), routing.mask);
  rtnl_rule_set_table(rule.get(), routing.table);
  rtnl_rule_set_prio(rule.get(), routing.priority);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  return rule;
}

Result<NlRoute> make_route(int family, const SteeringRouting& routing, int loopback_ifindex,
                           const std::string& what) {
  NlRoute route(rtnl_route_alloc());
  if (!route) return make_error(std::errc::not_enough_memory, what);
  nl_addr* raw = nullptr;
  int err = nl_addr_parse(any_prefix(family), family, &raw);
  NlAddr dst(raw);
  if (err < 0) return nl_error(err, what);
  rtnl_route_set_family(route.get(), family);
  rtnl_route_set_type(route.get(), RTN_LOCAL);
  rtnl_route_set_table(route.get(), routing.table);
  rtnl_route_set_scope(route.get(), RT_SCOPE_HOST);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);  // what `ip route add` uses
  err = rtnl_route_set_dst(route.get(), dst.get());
  if (err < 0) return nl_error(err, what);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (nh == nullptr) return make_error(std::errc::not_enough_memory, what);
  rtnl_route_nh_set_ifindex(nh, loopback_ifindex);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh from here
  return route;
}

}  // namespace

std::string describe_rule(int family, const SteeringRouting& routing) {
  char text[128];
  std::snprintf(text, sizeof(text), "fwmark 0x%x/0x%x lookup %u priority %u (%s)", routing.mark,
                routing.mask, routing.table, routing.priority, family_name(family));
  return text;
}

std::string describe_local_route(int family, const SteeringRouting& routing) {
  return std::string("local ") + any_prefix(family) + " dev lo table " +
         std::to_string(routing.table);
}

Result<bool> add_rule(nl_sock* sock, int family, const SteeringRouting& routing) {
  const std::string what = "add rule " + describe_rule(family, routing);
  WB_TRY_ASSIGN(NlRule rule, make_rule(family, routing, what));
  int err = rtnl_rule_add(sock, rule.get(), NLM_F_EXCL);
  if (err < 0 && nl_errno(err) == EEXIST) return false;
  if (err < 0) return nl_error(err, what);
  return true;
}

Status delete_rule(nl_sock* sock, int family, const SteeringRouting& routing) {
  const std::string what = "delete rule " + describe_rule(family, routing);
  WB_TRY_ASSIGN(NlRule rule, make_rule(family, routing, what));
  int err = rtnl_rule_delete(sock, rule.get(), 0);
  if (err < 0 && nl_errno(err) != ENOENT) return nl_error(err, what);
  return {};
}

Result<bool> add_local_route(nl_sock* sock, int family, const SteeringRouting& routing,
                             int loopback_ifindex) {
  const std::string what = "add route " + describe_local_route(family, routing);
  WB_TRY_ASSIGN(NlRoute route, make_route(family, routing, loopback_ifindex, what));
  int err = rtnl_route_add(sock, route.get(), NLM_F_EXCL);
  if (err < 0 && nl_errno(err) == EEXIST) return false;
  if (err < 0) return nl_error(err, what);
  return true;
}

Status delete_local_route(nl_sock* sock, int family, const SteeringRouting& routing,
                          int loopback_ifindex) {
  const std::string what = "delete route " + describe_local_route(family, routing);
  WB_TRY_ASSIGN(NlRoute route, make_route(family, routing, loopback_ifindex, what));
  int err = rtnl_route_delete(sock, route.get(), 0);
  // ESRCH ("No such process") is what the kernel says for a missing route.
  if (err < 0 && nl_errno(err) != ENOENT) return nl_error(err, what);
  return {};
}

}  // namespace wb::netsetup
