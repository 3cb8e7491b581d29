// `wirebump replay`: every flow of a capture through the same decisions the bridge makes -- the
// kernel classifier on every frame, the agent's first-bytes classifier on each flow, then the
// interception policy from the config -- as one line (or JSON object) per flow plus totals.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/datapath/datapath.h"
#include "agent/replay/capture.h"
#include "agent/replay/flow_protocol.h"

namespace wb::replay {

struct FlowReport {
  std::string l4;  // "tcp" / "udp"
  std::string client, server;
  std::uint16_t vlan = 0;
  std::size_t packets_to_server = 0, packets_to_client = 0;
  std::size_t bytes_to_server = 0, bytes_to_client = 0;
  // The kernel's decision on the flow's first frame (what decides a flow's path), and how many
  // of its frames the kernel would drop. Empty without the kernel classifier.
  std::optional<datapath::Decision> kernel;
  std::size_t frames_dropped = 0;
  Detected detected;
  std::string action;  // intercept, inspect, tunnel, deny, bypass, drop, undecided
  std::string label;   // session label the agent would show (https, sip, ms-turn, tunnel, ...)
  std::string why;
};

struct Report {
  std::string file;
  std::string link_type;
  std::size_t frames = 0, frames_outside_flows = 0;
  bool kernel = false;   // the kernel classifier ran
  bool damaged = false;  // the capture ended in a corrupt or truncated record
  std::vector<FlowReport> flows;
  std::vector<std::string> warnings;
  // Totals: flows per detected protocol, per kernel verdict, per policy action.
  std::map<std::string, std::size_t> by_protocol, by_verdict, by_action;
};

struct ReplayOptions {
  config::Config config;   // ports, bypass CIDRs, QUIC blocking, policy rules, detection
  bool use_kernel = true;  // false: agent-side classification only (no root needed)
};

// Errors: the capture cannot be read at all, or the kernel classifier cannot be loaded while
// use_kernel is set. Damage inside the capture becomes warnings.
Result<Report> replay_file(const std::string& path, const ReplayOptions& options);
Result<Report> replay_capture(const Capture& capture, const ReplayOptions& options);

void print_text(const Report& report, std::ostream& out);
nlohmann::json to_json(const Report& report);

}  // namespace wb::replay
