#include "agent/netsetup/net_state.h"

#include <nlohmann/json.hpp>

#include "agent/netsetup/state_file.h"

namespace wb::netsetup {

bool NetState::empty() const {
  return !created_bridge && !bridge_brought_up && enslaved_ports.empty() &&
         ports_brought_up.empty() && !nf_call_before && !rule_v4 && !rule_v6 && !route_v4 &&
         !route_v6;
}

std::string to_json_text(const NetState& state) {
  nlohmann::json j = {
      {"bridge", state.bridge},
      {"routing",
       {{"mark", state.routing.mark},
        {"mask", state.routing.mask},
        {"table", state.routing.table},
        {"priority", state.routing.priority}}},
      {"created_bridge", state.created_bridge},
      {"bridge_brought_up", state.bridge_brought_up},
      {"enslaved_ports", state.enslaved_ports},
      {"ports_brought_up", state.ports_brought_up},
      {"rule_v4", state.rule_v4},
      {"rule_v6", state.rule_v6},
      {"route_v4", state.route_v4},
      {"route_v6", state.route_v6},
  };
  if (state.nf_call_before) {
    j["nf_call_before"] = {{"iptables", state.nf_call_before->iptables},
                           {"ip6tables", state.nf_call_before->ip6tables},
                           {"arptables", state.nf_call_before->arptables}};
  }
  return j.dump(2) + "\n";
}

Result<NetState> from_json_text(const std::string& text) {
  // nlohmann throws on malformed input and wrong types: caught here, at the boundary.
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    NetState s;
    s.bridge = j.at("bridge").get<std::string>();
    const auto& r = j.at("routing");
    s.routing.mark = r.at("mark").get<std::uint32_t>();
    s.routing.mask = r.at("mask").get<std::uint32_t>();
    s.routing.table = r.at("table").get<std::uint32_t>();
    s.routing.priority = r.at("priority").get<std::uint32_t>();
    s.created_bridge = j.at("created_bridge").get<bool>();
    s.bridge_brought_up = j.at("bridge_brought_up").get<bool>();
    s.enslaved_ports = j.at("enslaved_ports").get<std::vector<std::string>>();
    s.ports_brought_up = j.at("ports_brought_up").get<std::vector<std::string>>();
    s.rule_v4 = j.at("rule_v4").get<bool>();
    s.rule_v6 = j.at("rule_v6").get<bool>();
    s.route_v4 = j.at("route_v4").get<bool>();
    s.route_v6 = j.at("route_v6").get<bool>();
    if (j.contains("nf_call_before")) {
      const auto& n = j.at("nf_call_before");
      s.nf_call_before =
          NfCall{n.at("iptables").get<std::uint8_t>(), n.at("ip6tables").get<std::uint8_t>(),
                 n.at("arptables").get<std::uint8_t>()};
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::errc::invalid_argument, std::string("parse network state: ") + e.what());
  }
}

Status save_net_state(const std::string& path, const NetState& state) {
  return write_file_atomic(path, to_json_text(state));
}

Result<std::optional<NetState>> load_net_state(const std::string& path) {
  WB_TRY_ASSIGN(auto text, read_state_file(path));
  if (!text) return std::optional<NetState>{};
  auto state = from_json_text(*text);
  if (!state.ok()) return state.error().wrap(path);
  return std::optional<NetState>{std::move(state).value()};
}

Status remove_net_state(const std::string& path) {
  return remove_state_file(path);
}

}  // namespace wb::netsetup
