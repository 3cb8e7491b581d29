#include "agent/replay/replay_report.h"

#include <algorithm>
#include <chrono>

#include "agent/policy/control.h"
#include "agent/policy/first_bytes.h"
#include "agent/policy/policy.h"
#include "agent/replay/kernel_replay.h"
#include "agent/replay/test_run_frame.h"
#include "agent/session/session_types.h"

namespace wb::replay {
namespace {

std::string kind_name(policy::Decision::Kind kind) {
  switch (kind) {
    case policy::Decision::Kind::kIntercept:
      return "intercept";
    case policy::Decision::Kind::kInspect:
      return "inspect";
    case policy::Decision::Kind::kTunnel:
      return "tunnel";
    case policy::Decision::Kind::kDeny:
      return "deny";
  }
  return "unknown";
}

// What the agent would do with a connection the kernel steered to it.
void agent_decision(FlowReport& r, policy::Policy& pol, const Endpoint& server) {
  auto address = policy::IpAddress::parse(server.addr.str());
  if (!address.ok()) {
    r.action = "undecided";
    r.why = address.error().message();
    return;
  }
  const policy::Destination dst{*address, server.port};
  const peek::Peek& p = r.detected.peek;
  if (p.need_more()) {
    r.action = "undecided";
    r.why = "the capture ends before the first bytes decide";
    return;
  }
  policy::Decision d;
  if (p.done() && p.kind == peek::Kind::kTls && !r.detected.server_first) {
    d = pol.decide_tls(p.hello.sni, p.hello.alpn, dst, policy::Clock::now());
  } else {
    // Malformed first bytes are an undetected protocol to the policy.
    d = pol.decide_plaintext(policy::first_bytes_kind(p), dst);
  }
  r.action = kind_name(d.kind);
  r.why = d.reason;
  r.label = d.kind == policy::Decision::Kind::kIntercept && d.label == session::Protocol::kUnknown
                ? "tls"
                : std::string(session::label(d.label));
}

// Without the kernel: the candidate ports and bypass lists decide like the classifier would for
// a SYN; everything else is the kernel's business and shows as bypass.
bool steered_without_kernel(const Flow& f, const config::Config& cfg) {
  if (!f.tcp() || !cfg.intercept || !f.to_server.syn_seen()) return false;
  for (std::uint16_t p : cfg.candidate_ports) {
    if (p == f.server.port) return true;
  }
  return false;
}

void count(Report& report, const FlowReport& r) {
  report.by_protocol[r.detected.protocol]++;
  report.by_action[r.action]++;
  if (r.kernel) report.by_verdict[datapath::verdict_name(r.kernel->verdict)]++;
}

}  // namespace

Result<Report> replay_capture(const Capture& capture, const ReplayOptions& options) {
  Report report;
  report.link_type = capture.link_name;
  report.frames = capture.frames.size();
  report.warnings = capture.warnings;
  report.damaged = capture.damaged;
  const FlowTable table = build_flows(capture);
  report.warnings.insert(report.warnings.end(), table.warnings.begin(), table.warnings.end());

  std::vector<std::optional<datapath::Decision>> first(table.flows.size());
  std::vector<std::size_t> dropped(table.flows.size(), 0);
  if (options.use_kernel) {
    WB_TRY_ASSIGN(KernelReplay kernel, KernelReplay::open(options.config));
    report.kernel = true;
    report.warnings.insert(report.warnings.end(), kernel.notes().begin(), kernel.notes().end());
    std::size_t failures = 0, shortened = 0, largest = 0;
    std::string first_error;
    for (std::size_t i = 0; i < capture.frames.size(); ++i) {
      const std::size_t flow = table.flow_of_frame[i];
      if (flow == FlowTable::npos) continue;
      const Frame& frame = capture.frames[i];
      const Packet packet = decode_frame(capture.link_type, frame.data);
      const TestRunFrame fed = test_run_frame(capture.link_type, frame.data, packet);
      if (fed.shortened) {
        ++shortened;
        largest = std::max(largest, frame.data.size());
      }
      auto d = kernel.classify(fed.bytes);
      if (!d.ok()) {
        if (failures++ == 0) first_error = d.error().message();
        continue;
      }
      if (!first[flow]) first[flow] = *d;
      if (d->verdict == WB_VERDICT_DROP) ++dropped[flow];
    }
    if (shortened != 0) {
      report.warnings.push_back(
          std::to_string(shortened) + (shortened == 1 ? " frame" : " frames") + " (largest " +
          std::to_string(largest) +
          " bytes) longer than a kernel test run takes, or cut by the snapshot length: judged on "
          "the first " +
          std::to_string(kTestRunMaxFrame) +
          " bytes at most with the IP/UDP lengths set to match (the classifier reads only headers "
          "and first payload bytes)");
    }
    if (failures != 0) {
      report.warnings.push_back("the kernel classifier could not judge " +
                                std::to_string(failures) + " frames: " + first_error +
                                "; their flows are judged by their other frames");
    }
  }
  auto pol = policy::policy_from_config(options.config);
  if (!pol.ok()) return pol.error().wrap("policy from the config");

  for (std::size_t i = 0; i < table.flows.size(); ++i) {
    const Flow& f = table.flows[i];
    FlowReport r;
    r.l4 = f.tcp() ? "tcp" : "udp";
    r.client = f.client.str();
    r.server = f.server.str();
    r.vlan = f.vlan;
    r.packets_to_server = f.packets_to_server;
    r.packets_to_client = f.packets_to_client;
    r.bytes_to_server = f.bytes_to_server;
    r.bytes_to_client = f.bytes_to_client;
    r.kernel = first[i];
    r.frames_dropped = dropped[i];
    std::optional<wb_flow_class> kclass;
    if (r.kernel) kclass = r.kernel->flow_class;
    r.detected = f.tcp() ? detect_tcp(f) : detect_udp(f, kclass);

    const bool steered = r.kernel ? r.kernel->verdict == WB_VERDICT_STEER
                                  : steered_without_kernel(f, options.config);
    if (r.kernel && r.kernel->verdict == WB_VERDICT_DROP) {
      r.action = "drop";
      r.why = datapath::reason_name(r.kernel->reason);
    } else if (steered) {
      agent_decision(r, **pol, f.server);
    } else {
      r.action = "bypass";
      r.why = r.kernel ? datapath::reason_name(r.kernel->reason)
                       : (f.tcp() ? "not steered (kernel not consulted)" : "udp");
      if (r.frames_dropped != 0) {
        r.why += ", " + std::to_string(r.frames_dropped) + " frames dropped";
      }
    }
    count(report, r);
    report.flows.push_back(std::move(r));
  }
  for (std::size_t flow : table.flow_of_frame) {
    report.frames_outside_flows += flow == FlowTable::npos;
  }
  return report;
}

Result<Report> replay_file(const std::string& path, const ReplayOptions& options) {
  WB_TRY_ASSIGN(Capture capture, read_capture(path));
  auto report = replay_capture(capture, options);
  if (report.ok()) report->file = path;
  return report;
}

void print_text(const Report& report, std::ostream& out) {
  for (const FlowReport& r : report.flows) {
    out << r.l4 << ' ' << r.client << " -> " << r.server;
    if (r.vlan != 0) out << " vlan " << r.vlan;
    out << "  kernel ";
    if (r.kernel) {
      out << datapath::verdict_name(r.kernel->verdict) << '/'
          << datapath::reason_name(r.kernel->reason);
    } else {
      out << '-';
    }
    out << "  " << r.detected.summary() << "  => " << r.action;
    if (!r.label.empty()) out << " (" << r.label << ')';
    if (!r.why.empty()) out << ": " << r.why;
    out << '\n';
  }
  auto totals = [&out](const char* what, const std::map<std::string, std::size_t>& m) {
    out << what << ':';
    for (const auto& [k, v] : m) out << ' ' << k << '=' << v;
    out << '\n';
  };
  out << report.flows.size() << " flows, " << report.frames << " frames (" << report.link_type
      << ")\n";
  totals("protocols", report.by_protocol);
  if (report.kernel) totals("kernel verdicts", report.by_verdict);
  totals("actions", report.by_action);
}

nlohmann::json to_json(const Report& report) {
  nlohmann::json flows = nlohmann::json::array();
  for (const FlowReport& r : report.flows) {
    nlohmann::json kernel = nullptr;
    if (r.kernel) {
      kernel = {{"verdict", datapath::verdict_name(r.kernel->verdict)},
                {"reason", datapath::reason_name(r.kernel->reason)},
                {"class", datapath::class_name(r.kernel->flow_class)},
                {"frames_dropped", r.frames_dropped}};
    }
    flows.push_back({{"l4", r.l4},
                     {"client", r.client},
                     {"server", r.server},
                     {"vlan", r.vlan},
                     {"packets", {r.packets_to_server, r.packets_to_client}},
                     {"bytes", {r.bytes_to_server, r.bytes_to_client}},
                     {"kernel", kernel},
                     {"protocol", r.detected.protocol},
                     {"details", r.detected.details},
                     {"policy", {{"action", r.action}, {"label", r.label}, {"reason", r.why}}}});
  }
  return {{"file", report.file},
          {"link_type", report.link_type},
          {"frames", report.frames},
          {"frames_outside_flows", report.frames_outside_flows},
          {"kernel", report.kernel},
          {"damaged", report.damaged},
          {"flows", flows},
          {"totals",
           {{"protocols", report.by_protocol},
            {"kernel_verdicts", report.by_verdict},
            {"actions", report.by_action}}},
          {"warnings", report.warnings}};
}

}  // namespace wb::replay
