#include "agent/daemon/bring_down.h"

#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "agent/common/log.h"
#include "agent/control/client.h"
#include "agent/daemon/agent.h"
#include "agent/daemon/port_attach.h"
#include "agent/datapath/datapath.h"
#include "agent/netsetup/netsetup.h"

namespace wb::daemon {
namespace {

// Gone, or a zombie its parent has not reaped yet (it no longer holds anything).
bool process_gone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z' ||
         text[paren + 2] == 'X';
}

// Asks the agent serving the control socket for its pid and stops it with SIGTERM.
Result<int> stop_running_agent(const config::Config& cfg, std::chrono::milliseconds timeout) {
  control::CallOptions call;
  call.timeout = std::chrono::milliseconds(3000);
  auto response = control::call(cfg.control_socket(), control::Request{"ping", {}}, call);
  if (!response.ok()) {
    if (control::is_no_agent(response.error())) return 0;
    return response.error().wrap("ask the running agent for its pid");
  }
  if (!response->ok || !response->result.contains("pid")) return 0;
  int pid = response->result["pid"].get<int>();
  if (pid <= 1) return 0;
  spdlog::info("stopping the running agent (pid {})", pid);
  if (::kill(pid, SIGTERM) != 0) {
    if (errno == ESRCH) return pid;
    return errno_error("stop agent pid " + std::to_string(pid));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(std::errc::timed_out, "agent pid " + std::to_string(pid) + " did not stop");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pid;
}

void keep_first(Status& first, Status next) {
  if (next.ok()) return;
  spdlog::warn("down: {}", next.error().message());
  if (first.ok()) first = std::move(next);
}

}  // namespace

Result<DownReport> bring_down(const config::Config& cfg, DownOptions options) {
  DownReport report;
  WB_TRY_ASSIGN(report.stopped_pid, stop_running_agent(cfg, options.stop_timeout));

  Status first;
  // 1. Classifier off the ports: from here every frame is plainly bridged.
  std::error_code missing;
  if (std::filesystem::exists(attach_record_path(cfg), missing)) {
    keep_first(first, detach_ports(attach_record_path(cfg)));
  } else {
    // Without a record (lost run directory) the filter is still found by its fixed identity.
    for (const auto& port : cfg.ports) {
      int ifindex = static_cast<int>(if_nametoindex(port.c_str()));
      if (ifindex > 0) keep_first(first, datapath::Datapath::detach_tc(ifindex));
    }
  }
  // 2. Pins: with no filter and no pin left, the kernel frees programs and maps.
  keep_first(first, datapath::Datapath::remove_pins(cfg.pin_dir.string()));
  // 3. Rules, routes, netfilter switches, ports, bridge: exactly what was recorded.
  keep_first(first, netsetup::teardown_network(netsetup_record_path(cfg)));
  // 4. A killed agent's socket file; the run directory if nothing else lives there.
  std::error_code ec;
  if (std::filesystem::is_socket(cfg.control_socket(), ec)) {
    std::filesystem::remove(cfg.control_socket(), ec);
  }
  if (std::filesystem::is_empty(cfg.run_dir, ec)) std::filesystem::remove(cfg.run_dir, ec);
  if (!first.ok()) return first.error();
  return report;
}

}  // namespace wb::daemon
