// The bridge's own HTTP endpoint for revocation data: forged certificates point clients at
// http://<crl_host>/wirebump/{crl,ocsp,ca}/..., answered here in two ways, per address of the
// CRL host (resolve_crl_host):
//  - an address of the bridge itself (by default br0's first IPv4 address): frames addressed to
//    the bridge's own MAC bypass the steering classifier (WB_REASON_TO_BRIDGE), so these requests
//    reach the bridge's ordinary IP stack, where a plain listener on port 80 of each bridge
//    address answers them;
//  - any other address (a load-balancer VIP shared by several bridges, a bridge without an IP
//    address): the classifier steers SYNs to <address>:80 (wb_crl_addr, WB_REASON_STEER_CRL) to
//    a transparent listener of this server, registered in the listener SOCKMAP's CRL slots.
//    Everything else sent to that address (other ports, UDP) passes through the bridge.
// Port-80 traffic passing THROUGH the bridge to other hosts is never steered here.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/relay/handler.h"
#include "agent/relay/relay.h"
#include "agent/session/endpoint.h"
#include "agent/session/session_table.h"
#include "certs/http_handler.h"

namespace wb::daemon {

// A request must arrive completely within this time after accept (slow clients are cut off).
inline constexpr std::chrono::milliseconds kRevocationRequestTimeout{5000};

// One request per connection: buffers the client's bytes (bounded by certs::handle_http's limits),
// answers with certs::handle_http (Connection: close) and closes gracefully. Never connects
// upstream and never blocks: the backend's answers are in memory or signed inline.
relay::HandlerFactory revocation_http_factory(const certs::HttpBackend& backend);

// Every IPv4 and every non-link-local IPv6 address of interface `ifname`, with `port`.
Result<std::vector<session::Endpoint>> interface_endpoints(const std::string& ifname,
                                                           std::uint16_t port);

// The CRL host's addresses. An IP literal (brackets allowed) is taken as it is; a host name is
// resolved once with getaddrinfo, bounded by `timeout` (a resolver that hangs cannot hold the
// agent's start), and only the numeric results are used (at most WB_CRL_ADDR_MAX, duplicates
// and link-local IPv6 dropped). `error` says why nothing was resolved.
struct CrlResolution {
  std::vector<session::Endpoint> addresses;  // port 0
  std::string error;                         // empty: resolved
};
CrlResolution resolve_crl_host(const std::string& crl_host, std::chrono::milliseconds timeout);

// How one address of the CRL host is answered.
enum class CrlServing {
  kLocal,      // an address of the bridge: its plain listener answers
  kSteered,    // another address: the classifier steers its port 80 to this server
  kNotServed,  // another address, steering off: only a warning
};
const char* label(CrlServing serving);  // "local", "steered", "not_served"

struct CrlAddress {
  session::Endpoint address;  // port 80 (or the server's port)
  CrlServing serving = CrlServing::kLocal;
};

// The listeners and their one worker. `backend` and `table` must outlive it.
class RevocationServer {
 public:
  struct Options {
    std::uint16_t port = 80;  // 0 in tests: the kernel picks (plain listeners only)
    // Serve CRL host addresses that are not the bridge's through transparent listeners (the
    // agent registers steering_listener_fds() and steered_addresses() in the datapath). Off:
    // such an address is only a warning, nothing on this bridge answers it.
    bool steer = false;
    std::chrono::milliseconds resolve_timeout{3000};
  };

  // Listens on port `port` of every address of `bridge` (see interface_endpoints); warns when
  // `crl_host` is an IP literal that is none of them. A bridge without addresses gives a server
  // with no listener (logged): nothing to serve, nothing fails.
  static Result<std::unique_ptr<RevocationServer>> start(const certs::HttpBackend& backend,
                                                         const std::string& bridge,
                                                         const std::string& crl_host,
                                                         session::SessionTable& table,
                                                         std::uint16_t port = 80);
  // The same, and with options.steer the CRL host's other addresses through steering.
  static Result<std::unique_ptr<RevocationServer>> start(const certs::HttpBackend& backend,
                                                         const std::string& bridge,
                                                         const std::string& crl_host,
                                                         session::SessionTable& table,
                                                         const Options& options);
  void stop();
  // The plain listeners on the bridge's own addresses.
  const std::vector<session::Endpoint>& addresses() const { return addresses_; }
  const std::string& crl_host() const { return crl_host_; }
  // Every resolved address of the CRL host and how it is served; resolve_error() when none.
  const std::vector<CrlAddress>& crl_addresses() const { return crl_addresses_; }
  const std::string& resolve_error() const { return resolve_error_; }
  // The steered ones (host prefixes for Datapath::set_crl_addresses) and the transparent
  // listeners (IPv4, IPv6) for Datapath::set_crl_listener; both empty when nothing is steered.
  std::vector<session::Endpoint> steered_addresses() const;
  std::vector<int> steering_listener_fds() const;
  relay::RelayStats stats() const;

 private:
  std::unique_ptr<relay::Relay> relay_;
  std::vector<session::Endpoint> addresses_;
  std::string crl_host_;
  std::vector<CrlAddress> crl_addresses_;
  std::string resolve_error_;
  std::size_t steering_first_ = 0;  // index in the relay's listeners
  std::size_t steering_count_ = 0;
};

}  // namespace wb::daemon
