// The bridge's own HTTP endpoint for revocation data: forged certificates point clients at
// http://<crl_host>/wirebump/{crl,ocsp,ca}/..., and crl_host resolves to an address of the bridge
// itself (by default br0's first IPv4 address). Frames addressed to the bridge's own MAC bypass
// the steering classifier (WB_REASON_TO_BRIDGE), so these requests reach the bridge's ordinary
// IP stack, where a small plain (non-transparent) listener on port 80 of each bridge address
// answers them. Port-80 traffic passing THROUGH the bridge to other hosts is never steered here.
//
// If crl_host is a DNS name, clients must resolve it to this bridge (or to a load balancer that
// forwards port 80 to bridges sharing one issuer keyring). If it is an IP literal that is not an
// address of the bridge, the agent warns at start: nothing on this bridge can answer it.
#pragma once

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

// The listeners and their one worker. `backend` and `table` must outlive it.
class RevocationServer {
 public:
  // Listens on port `port` of every address of `bridge` (see interface_endpoints); warns when
  // `crl_host` is an IP literal that is none of them. A bridge without addresses gives a server
  // with no listener (logged): nothing to serve, nothing fails.
  static Result<std::unique_ptr<RevocationServer>> start(const certs::HttpBackend& backend,
                                                         const std::string& bridge,
                                                         const std::string& crl_host,
                                                         session::SessionTable& table,
                                                         std::uint16_t port = 80);
  void stop();
  const std::vector<session::Endpoint>& addresses() const { return addresses_; }
  relay::RelayStats stats() const;

 private:
  std::unique_ptr<relay::Relay> relay_;
  std::vector<session::Endpoint> addresses_;
};

}  // namespace wb::daemon
