#include "agent/daemon/control_handlers.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "agent/config/cidr.h"
#include "agent/daemon/agent_parts.h"
#include "agent/daemon/kernel_policy.h"

#ifndef WB_DAEMON_VERSION
#define WB_DAEMON_VERSION "unknown"
#endif

namespace wb::daemon {
namespace {

using control::arg_bool;
using control::arg_int;
using control::arg_string;
using nlohmann::json;

json counter_json(const wb_counter& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}};
}

// "counters": one row per reason (with its verdict); "verdicts": totals; "classes": per flow class.
Status counters_json(const datapath::Datapath& dp, json& out) {
  WB_TRY_ASSIGN(auto counters, dp.counters());
  json rows = json::array();
  for (int r = 0; r < WB_REASON_MAX; ++r) {
    auto reason = static_cast<wb_reason>(r);
    json row = counter_json(counters.by_reason[r]);
    row["verdict"] = datapath::verdict_name(wb_reason_verdict(reason));
    row["reason"] = datapath::reason_name(reason);
    rows.push_back(row);
  }
  json verdicts = json::object();
  for (int v = 0; v < WB_VERDICT_MAX; ++v) {
    auto verdict = static_cast<wb_verdict>(v);
    verdicts[datapath::verdict_name(verdict)] = counter_json(counters.verdict_total(verdict));
  }
  json classes = json::object();
  for (int c = 0; c < WB_CLASS_MAX; ++c) {
    classes[datapath::class_name(static_cast<wb_flow_class>(c))] =
        counter_json(counters.by_class[c]);
  }
  out["counters"] = rows;
  out["verdicts"] = verdicts;
  out["classes"] = classes;
  return {};
}

json relay_json(const relay::RelayStats& s) {
  return {{"accepted", s.accepted},
          {"refused", s.refused},
          {"overflow_tunnelled", s.overflow_tunnelled},
          {"closed", s.closed},
          {"upstream_failed", s.upstream_failed},
          {"upstream_port_fallback", s.upstream_port_fallback},
          {"bytes_spliced", s.bytes_spliced},
          {"bytes_from_client", s.bytes_from_client},
          {"bytes_from_server", s.bytes_from_server},
          {"active", s.active},
          {"queued_bytes", s.queued_bytes}};
}

std::string mac_text(const std::array<std::uint8_t, 6>& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

json interfaces_json(const Agent::Parts& p) {
  json out = json::array();
  out.push_back({{"name", p.bridge.bridge.name},
                 {"role", "bridge"},
                 {"created", p.bridge.created},
                 {"ifindex", p.bridge.bridge.ifindex},
                 {"mac", mac_text(p.bridge.bridge.mac)},
                 {"hooks", json::array()}});
  for (const auto& port : p.bridge.ports) {
    json hooks = json::array({"tc"});
    if (p.cfg.xdp != config::XdpMode::kOff) {
      hooks.push_back("xdp-" + std::string(config::to_string(p.cfg.xdp)));
    }
    out.push_back({{"name", port.name},
                   {"role", "port"},
                   {"ifindex", port.ifindex},
                   {"mac", mac_text(port.mac)},
                   {"hooks", hooks}});
  }
  return out;
}

// Where the CRL host's URLs are answered: each address "local" (a bridge address, plain
// listener), "steered" (port 80 steered to the agent) or "not_served"; resolve_error when the
// host name did not resolve.
json crl_host_json(const Agent::Parts& p) {
  json out{{"host", p.certs->crl_host()}, {"served", p.revocation != nullptr}};
  json addresses = json::array();
  if (p.revocation) {
    for (const auto& a : p.revocation->crl_addresses()) {
      addresses.push_back({{"address", a.address.address_string()}, {"serving", label(a.serving)}});
    }
    if (!p.revocation->resolve_error().empty())
      out["resolve_error"] = p.revocation->resolve_error();
  }
  out["addresses"] = addresses;
  out["steering_listener"] = p.dp->has_crl_listener();
  return out;
}

Result<json> status(Agent::Parts& p) {
  WB_TRY_ASSIGN(wb_config kernel, p.dp->config());
  WB_TRY_ASSIGN(auto ports, p.dp->ports());
  json by_protocol = json::object();
  for (const auto& [protocol, count] : p.table->count_by_protocol()) {
    by_protocol[std::string(session::label(protocol))] = count;
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                 p.started);
  json out{
      {"agent",
       {{"state", p.dp->has_listener() ? "running" : "stopping"},
        {"pid", ::getpid()},
        {"version", WB_DAEMON_VERSION},
        {"uptime_s", uptime.count()},
        {"workers", p.relay->workers()},
        {"listener", p.dp->has_listener()},
        {"programs_attached_at_start", p.tc_attached},
        {"programs_kept_at_start", p.tc_kept},
        {"pin_dir", p.cfg.pin_dir.string()},
        {"control_socket", p.cfg.control_socket().string()}}},
      {"intercept", kernel.intercept_enabled != 0},
      {"block_quic", kernel.block_quic != 0},
      {"candidate_ports", ports},
      {"interfaces", interfaces_json(p)},
      {"sessions",
       {{"active", p.table->active()},
        {"max", p.table->max_sessions()},
        {"opened", p.table->opened()},
        {"refused", p.table->refused()},
        {"max_per_client", p.table->max_per_client()},
        {"refused_per_client", p.table->refused_per_client()},
        {"by_protocol", by_protocol}}},
      {"relay", relay_json(p.relay->stats())},
      {"crl_host", crl_host_json(p)},
  };
  WB_TRY(counters_json(*p.dp, out));
  add_interception_status(out, p.interception.get(), *p.certs);
  return out;
}

Result<json> ports_list(const datapath::Datapath& dp) {
  WB_TRY_ASSIGN(auto ports, dp.ports());
  return json{{"ports", ports}};
}

Result<datapath::Side> side_arg(const json& args) {
  WB_TRY_ASSIGN(std::string side, arg_string(args, "side"));
  if (side == "src") return datapath::Side::source;
  if (side == "dst") return datapath::Side::destination;
  return control::invalid_argument("side: expected \"src\" or \"dst\", got \"" + side + "\"");
}

Result<json> bypass_list(const datapath::Datapath& dp) {
  json out = json::object();
  for (auto [side, name] :
       {std::pair{datapath::Side::source, "src"}, std::pair{datapath::Side::destination, "dst"}}) {
    WB_TRY_ASSIGN(auto cidrs, dp.bypass(side));
    json list = json::array();
    for (const auto& cidr : cidrs) list.push_back(cidr.str());
    out[name] = list;
  }
  return out;
}

Result<json> bypass_change(datapath::Datapath& dp, const json& args, bool add) {
  WB_TRY_ASSIGN(datapath::Side side, side_arg(args));
  WB_TRY_ASSIGN(std::string text, arg_string(args, "cidr"));
  // The config file's parser: the CLI and the file refuse the same things the same way.
  auto cidr = config::parse_cidr(text);
  if (!cidr.ok()) return control::invalid_argument(cidr.error().context);
  auto kernel_cidr = to_datapath_cidr(*cidr);
  WB_TRY_ASSIGN(auto present, dp.bypass(side));
  const bool there = std::find(present.begin(), present.end(), kernel_cidr) != present.end();
  if (add) {
    if (there) return control::invalid_argument(cidr->to_string() + " is already listed");
    WB_TRY(dp.add_bypass(side, kernel_cidr));
  } else {
    if (!there) {
      return control::not_found("no bypass " + cidr->to_string());
    }
    WB_TRY(dp.del_bypass(side, kernel_cidr));
  }
  return bypass_list(dp);
}

Result<json> sessions(const session::SessionTable& table, const json& args) {
  session::SessionFilter filter;
  if (control::has_arg(args, "protocol")) {
    WB_TRY_ASSIGN(std::string name, arg_string(args, "protocol"));
    auto protocol = session::parse_protocol(name);
    if (!protocol) {
      return control::invalid_argument("protocol: expected " + session::protocol_choices() +
                                       ", got \"" + name + "\"");
    }
    filter.protocol = protocol;
  }
  json list = json::array();
  for (const auto& record : table.snapshot(filter)) list.push_back(session::to_json(record));
  return json{{"sessions", list}};
}

}  // namespace

void register_control_handlers(control::ControlServer& server, Agent::Parts& p) {
  datapath::Datapath& dp = *p.dp;
  server.handle("status", [&p](const json&) { return status(p); });

  // Off: every new SYN bypasses in kernel; sessions the agent already owns finish.
  server.handle("intercept.set", [&dp](const json& args) -> Result<json> {
    if (control::has_arg(args, "enabled")) {
      WB_TRY_ASSIGN(bool enabled, arg_bool(args, "enabled"));
      WB_TRY(dp.set_intercept(enabled));
    }
    WB_TRY_ASSIGN(wb_config kernel, dp.config());
    return json{{"intercept", kernel.intercept_enabled != 0}};
  });
  // Both halves of QUIC blocking switch together: the kernel drops QUIC Initials, and the HTTP
  // inspectors of sessions that start from now on remove Alt-Svc h3 advertisements.
  server.handle("quic.set", [&dp, &p](const json& args) -> Result<json> {
    if (control::has_arg(args, "block")) {
      WB_TRY_ASSIGN(bool block, arg_bool(args, "block"));
      WB_TRY(dp.set_block_quic(block));
      if (p.interception) p.interception->service->set_block_quic(block);
    }
    WB_TRY_ASSIGN(wb_config kernel, dp.config());
    return json{{"block_quic", kernel.block_quic != 0}};
  });

  server.handle("ports.list", [&dp](const json&) { return ports_list(dp); });
  server.handle("ports.add", [&dp](const json& args) -> Result<json> {
    WB_TRY_ASSIGN(auto port, arg_int(args, "port", 1, 65535));
    WB_TRY_ASSIGN(auto ports, dp.ports());
    if (std::find(ports.begin(), ports.end(), port) != ports.end()) {
      return control::invalid_argument("port " + std::to_string(port) +
                                       " is already a candidate port");
    }
    WB_TRY(dp.add_port(static_cast<std::uint16_t>(port)));
    return ports_list(dp);
  });
  server.handle("ports.del", [&dp](const json& args) -> Result<json> {
    WB_TRY_ASSIGN(auto port, arg_int(args, "port", 1, 65535));
    WB_TRY_ASSIGN(auto ports, dp.ports());
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
      return control::not_found("port " + std::to_string(port) + " is not a candidate port");
    }
    WB_TRY(dp.del_port(static_cast<std::uint16_t>(port)));
    return ports_list(dp);
  });

  server.handle("bypass.list", [&dp](const json&) { return bypass_list(dp); });
  server.handle("bypass.add", [&dp](const json& args) { return bypass_change(dp, args, true); });
  server.handle("bypass.del", [&dp](const json& args) { return bypass_change(dp, args, false); });

  server.handle("sessions.list", [&p](const json& args) { return sessions(*p.table, args); });
  register_interception_handlers(server, p.cfg, p.interception.get(), *p.certs);
}

}  // namespace wb::daemon
