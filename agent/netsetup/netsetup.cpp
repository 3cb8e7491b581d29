#include "agent/netsetup/netsetup.h"

#include <algorithm>

#include "agent/common/log.h"
#include "agent/netsetup/bridge_nf.h"

namespace wb::netsetup {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}
void record(std::vector<std::string>& list, const std::string& name) {
  if (!contains(list, name)) list.push_back(name);
}

// Performs the setup steps, saving `state` after each change.
class Installer {
 public:
  Installer(nl_sock* sock, const NetSpec& spec, NetState& state, const std::string& path)
      : sock_(sock), spec_(spec), state_(state), path_(path) {}

  Result<BridgeInfo> run() {
    BridgeInfo out;
    WB_TRY_ASSIGN(out.bridge, bridge());
    for (const auto& name : spec_.ports) {
      WB_TRY_ASSIGN(LinkInfo port, this->port(name, out.bridge));
      out.ports.push_back(port);
    }
    WB_TRY(netfilter_off(out.bridge));
    WB_TRY(routing());
    // The MAC can change while ports join (a bridge without a fixed address takes the lowest
    // port MAC), so it is read last.
    WB_TRY_ASSIGN(out.bridge, get_link(sock_, spec_.bridge));
    out.created = state_.created_bridge;
    return out;
  }

 private:
  Status save() { return save_net_state(path_, state_); }

  Result<LinkInfo> bridge() {
    auto found = get_link(sock_, spec_.bridge);
    if (!found.ok()) {
      WB_TRY(create_bridge(sock_, spec_.bridge));
      state_.created_bridge = true;
      WB_TRY(save());
      WB_TRY_ASSIGN(LinkInfo created, get_link(sock_, spec_.bridge));
      found = created;
    } else if (!found->is_bridge) {
      return make_error(std::errc::invalid_argument,
                        "adopt " + spec_.bridge + ": it exists and is not a bridge");
    }
    LinkInfo br = found.value();
    if (!br.up) {
      WB_TRY(set_up(sock_, br, true));
      if (!state_.created_bridge) state_.bridge_brought_up = true;
      WB_TRY(save());
    }
    return br;
  }

  Result<LinkInfo> port(const std::string& name, const LinkInfo& br) {
    if (name == spec_.bridge) {
      return make_error(std::errc::invalid_argument,
                        "enslave " + name + " to " + br.name + ": a bridge cannot be its own port");
    }
    WB_TRY_ASSIGN(LinkInfo port, get_link(sock_, name));
    if (port.master_ifindex != br.ifindex) {
      if (port.master_ifindex != 0) {
        auto other = get_link(sock_, port.master_ifindex);
        return make_error(std::errc::device_or_resource_busy,
                          "enslave " + name + " to " + br.name + ": it already belongs to " +
                              (other.ok() ? other->name : "another master"));
      }
      WB_TRY(enslave(sock_, port, br));
      record(state_.enslaved_ports, name);
      WB_TRY(save());
    }
    if (!port.up) {
      WB_TRY(set_up(sock_, port, true));
      record(state_.ports_brought_up, name);
      WB_TRY(save());
    }
    return get_link(sock_, name);
  }

  Status netfilter_off(const LinkInfo& br) {
    WB_TRY_ASSIGN(NfCall now, get_nf_call(sock_, br));
    if (!now.any()) return {};
    if (!state_.nf_call_before) state_.nf_call_before = now;
    WB_TRY(save());  // record before changing: a crash in between still restores
    return set_nf_call(sock_, br, NfCall{});
  }

  Status routing() {
    WB_TRY_ASSIGN(LinkInfo lo, get_link(sock_, "lo"));
    struct Step {
      int family;
      bool* rule;
      bool* route;
    };
    for (Step step : {Step{AF_INET, &state_.rule_v4, &state_.route_v4},
                      Step{AF_INET6, &state_.rule_v6, &state_.route_v6}}) {
      WB_TRY_ASSIGN(bool added_route,
                    add_local_route(sock_, step.family, spec_.routing, lo.ifindex));
      if (added_route) *step.route = true;
      WB_TRY(save());
      WB_TRY_ASSIGN(bool added_rule, add_rule(sock_, step.family, spec_.routing));
      if (added_rule) *step.rule = true;
      WB_TRY(save());
    }
    return {};
  }

  nl_sock* sock_;
  const NetSpec& spec_;
  NetState& state_;
  const std::string& path_;
};

void keep_first(Status& first, Status next) {
  if (first.ok() && !next.ok()) first = std::move(next);
  if (!next.ok()) spdlog::warn("teardown: {}", next.error().message());
}

Status undo(nl_sock* sock, const NetState& state) {
  Status first;
  // Routing first: once the rule is gone nothing is steered locally any more.
  for (int family : {AF_INET6, AF_INET}) {
    bool rule = family == AF_INET ? state.rule_v4 : state.rule_v6;
    bool route = family == AF_INET ? state.route_v4 : state.route_v6;
    if (rule) keep_first(first, delete_rule(sock, family, state.routing));
    if (route) {
      auto lo = get_link(sock, "lo");
      if (!lo.ok()) {
        keep_first(first, lo.error());
      } else {
        keep_first(first, delete_local_route(sock, family, state.routing, lo->ifindex));
      }
    }
  }
  auto br = get_link(sock, state.bridge);
  if (!br.ok()) {
    // A bridge that is already gone took its port memberships and switches with it.
    if (!state.created_bridge) keep_first(first, br.error().wrap("teardown"));
    br = LinkInfo{};
  }
  for (auto it = state.ports_brought_up.rbegin(); it != state.ports_brought_up.rend(); ++it) {
    auto port = get_link(sock, *it);
    if (port.ok()) keep_first(first, set_up(sock, *port, false));
  }
  if (br->ifindex == 0) return first;
  if (state.created_bridge) {
    keep_first(first, delete_link(sock, state.bridge));
    return first;
  }
  for (auto it = state.enslaved_ports.rbegin(); it != state.enslaved_ports.rend(); ++it) {
    auto port = get_link(sock, *it);
    if (port.ok() && port->master_ifindex == br->ifindex) keep_first(first, release(sock, *port));
  }
  if (state.nf_call_before) keep_first(first, set_nf_call(sock, *br, *state.nf_call_before));
  if (state.bridge_brought_up) keep_first(first, set_up(sock, *br, false));
  return first;
}

}  // namespace

Result<BridgeInfo> setup_network(const NetSpec& spec, const std::string& state_path) {
  WB_TRY_ASSIGN(NlSocket sock, open_route_socket());
  WB_TRY_ASSIGN(auto previous, load_net_state(state_path));
  NetState state;
  if (previous && previous->bridge == spec.bridge && previous->routing == spec.routing) {
    state = *previous;  // restart after a kill: keep the records of what we did then
  } else if (previous) {
    spdlog::info("undoing the network setup of an earlier run (bridge {})", previous->bridge);
    WB_TRY(undo(sock.get(), *previous));
  }
  state.bridge = spec.bridge;
  state.routing = spec.routing;
  WB_TRY(save_net_state(state_path, state));
  auto result = Installer(sock.get(), spec, state, state_path).run();
  if (!result.ok()) {
    (void)undo(sock.get(), state);
    (void)remove_net_state(state_path);
    return result.error();
  }
  return result;
}

Status teardown_network(const std::string& state_path) {
  WB_TRY_ASSIGN(auto state, load_net_state(state_path));
  if (!state) return {};
  WB_TRY_ASSIGN(NlSocket sock, open_route_socket());
  WB_TRY(undo(sock.get(), *state));
  return remove_net_state(state_path);
}

Result<BridgeInfo> describe_bridge(const NetSpec& spec) {
  WB_TRY_ASSIGN(NlSocket sock, open_route_socket());
  BridgeInfo out;
  WB_TRY_ASSIGN(out.bridge, get_link(sock.get(), spec.bridge));
  for (const auto& name : spec.ports) {
    WB_TRY_ASSIGN(LinkInfo port, get_link(sock.get(), name));
    out.ports.push_back(port);
  }
  return out;
}

}  // namespace wb::netsetup
