#include "agent/daemon/agent.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <thread>

#include "agent/common/log.h"
#include "agent/common/memory_release.h"
#include "agent/control/listen_socket.h"
#include "agent/daemon/agent_parts.h"
#include "agent/daemon/control_handlers.h"
#include "agent/daemon/kernel_policy.h"
#include "agent/daemon/port_attach.h"
#include "agent/daemon/signals.h"
#include "agent/relay/upstream.h"

namespace wb::daemon {
namespace {

// Priority of the steering rule: before `main` (32766); low numbers are left to operators.
constexpr std::uint32_t kRulePriority = 1000;

netsetup::NetSpec net_spec(const config::Config& cfg) {
  netsetup::NetSpec spec;
  spec.bridge = cfg.bridge;
  spec.ports = cfg.ports;
  // fwmark M/M: the rule matches the mark's bits whatever else shares skb->mark.
  spec.routing = {cfg.steer_mark, cfg.steer_mark, cfg.route_table, kRulePriority};
  return spec;
}

// From the client's own address AND port to the original destination: the server (and its logs)
// see exactly the client's socket. The relay's default lets the kernel pick the port. When one of
// the agent's own sockets still holds that port (an earlier upstream of a client that reuses its
// source port, in TIME_WAIT), the relay falls back to a kernel-chosen port by itself (counted in
// relay.upstream_port_fallback); a reconnect (tunnel on error) closes the dropped upstream
// synchronously, so it gets the client's port again.
relay::UpstreamResolver client_socket_upstream() {
  return [](const relay::ConnectionInfo& info) -> Result<relay::UpstreamPlan> {
    return relay::UpstreamPlan{info.original_destination, info.client, true};
  };
}

relay::RelayConfig relay_config(const config::Config& cfg) {
  relay::RelayConfig rc;
  // The listeners' own addresses never matter for steered SYNs (bpf_sk_assign picks the
  // socket); loopback keeps them unreachable from the wire by ordinary routing.
  rc.listen = {session::Endpoint::parse("127.0.0.1:0").value(),
               session::Endpoint::parse("[::1]:0").value()};
  rc.workers = cfg.workers;
  rc.upstream = client_socket_upstream();
  rc.timeouts.connect = cfg.timeouts.connect;
  rc.timeouts.first_bytes = cfg.timeouts.first_bytes;
  rc.timeouts.idle = cfg.timeouts.idle;
  rc.overflow = cfg.on_max_sessions == config::OnMaxSessions::kBypass
                    ? relay::OverflowAction::kTunnel
                    : relay::OverflowAction::kReset;
  return rc;
}

bool pins_exist(const config::Config& cfg) {
  struct stat st {};
  return ::stat((cfg.pin_dir / WB_MAP_CONFIG).c_str(), &st) == 0;
}

std::string mac_string(const std::array<std::uint8_t, 6>& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

// Every session holds two sockets (client side and upstream). Raises the soft open-files limit
// to the hard one and warns when that still cannot hold max_sessions (deploy/wirebump.service
// sets LimitNOFILE for the configuration's upper bound): beyond it accepts fail with EMFILE and
// the relay re-arms them on its next tick, so new connections stall instead of being counted.
void check_open_files_limit(std::uint32_t max_sessions) {
  constexpr rlim_t kSpare = 1024;  // listeners, rings, control socket, BPF objects, logs
  const rlim_t needed = 2 * static_cast<rlim_t>(max_sessions) + kSpare;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < needed) {
    spdlog::warn(
        "open files limit {} is below 2 x limits.max_sessions ({}) + {}: raise LimitNOFILE "
        "(ulimit -n) to at least {}",
        limit.rlim_cur, max_sessions, kSpare, needed);
  }
}

// Failing to install is not fatal: OpenSSL's defaults work, only slower.
void install_key_methods(Agent::Parts& p) {
  if (!p.cfg.openssl_builtin_key_methods) return;
  auto methods = intercept::BuiltinKeyMethods::install();
  if (!methods.ok()) {
    spdlog::warn("OpenSSL's provider key methods stay in use: {}", methods.error().message());
    return;
  }
  p.key_methods = std::move(*methods);
  spdlog::info("certificate RSA and EC keys use OpenSSL's built-in key methods");
}

Status bring_up(Agent::Parts& p) {
  check_open_files_limit(p.cfg.limits.max_sessions);
  install_key_methods(p);
  WB_TRY(control::prepare_private_dir(p.cfg.run_dir));
  WB_TRY_ASSIGN(p.bridge, netsetup::setup_network(net_spec(p.cfg), netsetup_record_path(p.cfg)));
  spdlog::info("bridge {} (ifindex {}, {}){}: ports {}", p.bridge.bridge.name,
               p.bridge.bridge.ifindex, mac_string(p.bridge.bridge.mac),
               p.bridge.created ? " created" : " adopted", fmt::join(p.cfg.ports, ", "));

  const bool fresh = !pins_exist(p.cfg);
  WB_TRY_ASSIGN(auto dp, datapath::Datapath::open(p.cfg.pin_dir.string()));
  p.dp.emplace(std::move(dp));
  WB_TRY(apply_kernel_policy(*p.dp, p.cfg, p.bridge, fresh));
  std::vector<PortToAttach> ports;
  for (const auto& port : p.bridge.ports) ports.push_back({port.name, port.ifindex});
  auto xdp = datapath::parse_xdp_mode(config::to_string(p.cfg.xdp));
  WB_TRY_ASSIGN(
      AttachResult attached,
      attach_ports(*p.dp, ports, xdp.value_or(datapath::XdpMode::off), attach_record_path(p.cfg)));
  p.tc_attached = attached.attached;
  WB_TRY(p.dp->attach_sk_lookup());
  p.tc_kept = attached.kept;
  spdlog::info("datapath {} ({} pins): classifier attached on {} port(s), already running on {}",
               p.cfg.pin_dir.string(), fresh ? "new" : "reused", attached.attached, attached.kept);

  WB_TRY_ASSIGN(p.certs, open_cert_service(p.cfg, p.bridge.bridge.name));
  p.cert_maintenance = std::make_unique<CertMaintenance>(*p.certs, std::chrono::seconds(5));

  p.table = std::make_unique<session::SessionTable>(p.cfg.limits.max_sessions,
                                                    p.cfg.limits.max_sessions_per_client);
  relay::HandlerFactory factory = p.options.handler_factory;
  if (!factory) {
    WB_TRY_ASSIGN(p.interception, start_interception(p.cfg, *p.certs));
    factory = p.interception->service->factory();
  }
  WB_TRY_ASSIGN(p.relay, relay::Relay::start(relay_config(p.cfg), factory, *p.table));
  for (std::size_t i = 0; i < 2; ++i) {
    WB_TRY(p.dp->set_listener(p.relay->listener_fd_for_steering(i)));
  }
  spdlog::info("relay: {} worker(s), listeners {} and {} registered for steering",
               p.relay->workers(), p.relay->listener_address(0).to_string(),
               p.relay->listener_address(1).to_string());

  // Fail open: without port 80 interception still works, only strict revocation checks fail.
  RevocationServer::Options rev_options;
  rev_options.steer = true;  // a crl_host that is not the bridge's own is steered to it
  if (auto rev = RevocationServer::start(*p.certs, p.bridge.bridge.name, p.certs->crl_host(),
                                         *p.table, rev_options);
      rev.ok()) {
    p.revocation = std::move(*rev);
  } else {
    spdlog::error("revocation http not served (strict clients will refuse forged certificates): {}",
                  rev.error().message());
  }
  if (Status s = apply_crl_steering(*p.dp, p.revocation.get()); !s.ok()) {
    spdlog::error("CRL host not steered to this bridge: {}", s.error().message());
  }

  control::ServerOptions copts;
  copts.socket_path = p.cfg.control_socket();
  p.control = std::make_unique<control::ControlServer>(copts);
  register_control_handlers(*p.control, p);
  WB_TRY(p.control->start());
  return {};
}

}  // namespace

std::string netsetup_record_path(const config::Config& cfg) {
  return (cfg.run_dir / "netsetup.json").string();
}
std::string attach_record_path(const config::Config& cfg) {
  return (cfg.run_dir / "datapath.json").string();
}

Agent::Agent(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Agent::~Agent() {
  stop();
}

Result<std::unique_ptr<Agent>> Agent::start(const config::Config& cfg, AgentOptions options) {
  auto parts = std::make_unique<Parts>();
  parts->cfg = cfg;
  parts->options = std::move(options);
  std::unique_ptr<Agent> agent(new Agent(std::move(parts)));
  // On failure the destructor stops what started; the network setup stays recorded for
  // `wirebump down` (a half-set-up bridge with no listener bypasses everything anyway).
  WB_TRY(bring_up(*agent->parts_));
  spdlog::info("wirebump agent {} ready", ::getpid());
  return agent;
}

int Agent::serve(StopSignals& signals) {
  std::uint64_t compacted = 0;
  while (true) {
    if (auto signo = signals.wait(std::chrono::seconds(1))) {
      spdlog::info("signal {}: stopping", *signo);
      return *signo;
    }
    // Sessions compacted in the last second freed their OpenSSL state: hand the pages back
    // (here, on the main thread, not on a worker a session waits on).
    const Parts& p = *parts_;
    if (p.interception && p.interception->service) {
      const std::uint64_t now =
          p.interception->service->counters().compacted.load(std::memory_order_relaxed);
      if (now != compacted) release_free_memory();
      compacted = now;
    }
  }
}

void Agent::stop(StopSignals* signals) {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  // 1. New SYNs bypass from now on; flows the agent owns keep being steered to it.
  if (p.dp) {
    if (Status s = p.dp->clear_listener(); !s.ok()) spdlog::warn("{}", s.error().message());
  }
  // 2. Let live sessions finish, within the grace (a second signal cuts it short).
  if (p.table) {
    auto deadline = std::chrono::steady_clock::now() + p.options.drain_grace;
    while (p.table->active() > 0 && std::chrono::steady_clock::now() < deadline) {
      if (signals != nullptr) {
        if (signals->wait(std::chrono::milliseconds(100))) break;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (p.table->active() > 0) spdlog::info("closing {} live session(s)", p.table->active());
  }
  // 3. Close what is left, then stop answering the CLI.
  if (p.revocation) p.revocation->stop();
  if (p.relay) p.relay->stop();
  if (p.control) p.control->stop();
  // Last journal flush / due CRL after the last forge.
  if (p.cert_maintenance) p.cert_maintenance->stop();
  spdlog::info("agent stopped; new connections bypass in kernel until it runs again");
}

}  // namespace wb::daemon
