#include "agent/daemon/revocation_http.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "agent/common/log.h"

namespace wb::daemon {
namespace {

// handle_http answers 413 before a request grows past its own limits; this is only the cap of
// what one connection may ever make the agent hold.
constexpr std::size_t kMaxBuffered = certs::kMaxHttpHeaderBytes + certs::kMaxHttpBodyBytes + 1024;

std::int64_t now_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

class RevocationHttpHandler final : public relay::Handler {
 public:
  explicit RevocationHttpHandler(const certs::HttpBackend& backend) : backend_(backend) {}

  void on_start(relay::SessionIo& io) override {
    io.set_protocol(session::Protocol::kHttp);
    // A phase timer, not disarmed by the first byte: the whole request must arrive in time.
    io.set_first_bytes_timeout(kRevocationRequestTimeout);
  }

  void on_data(relay::SessionIo& io, relay::Side from,
               std::span<const std::uint8_t> bytes) override {
    if (from != relay::Side::kClient || answered_) return;
    const std::size_t room = kMaxBuffered - request_.size();
    request_.insert(request_.end(), bytes.begin(),
                    bytes.begin() + static_cast<std::ptrdiff_t>(std::min(room, bytes.size())));
    certs::HttpOutcome outcome = certs::handle_http(request_, backend_, now_seconds());
    if (outcome.need_more && request_.size() < kMaxBuffered) return;
    if (outcome.need_more) {
      // Cannot happen while handle_http enforces its limits; never hold more than the cap.
      io.close(relay::CloseMode::kReset, "revocation request too large");
      return;
    }
    answer(io, outcome);
  }

  void on_eof(relay::SessionIo& io, relay::Side /*from*/) override {
    // An incomplete request followed by FIN: nothing sensible to answer.
    if (!answered_) io.close(relay::CloseMode::kGraceful, "revocation request incomplete");
  }

  // Never called: this handler has no upstream.
  void on_upstream_connected(relay::SessionIo& /*io*/) override {}
  void on_upstream_failed(relay::SessionIo& io, const Error& /*error*/) override {
    io.close(relay::CloseMode::kReset, "no upstream");
  }

  void on_timeout(relay::SessionIo& io, relay::TimeoutKind kind) override {
    io.close(relay::CloseMode::kReset, relay::label(kind));
  }

 private:
  void answer(relay::SessionIo& io, const certs::HttpOutcome& outcome) {
    answered_ = true;
    request_.clear();
    request_.shrink_to_fit();
    io.set_first_bytes_timeout(std::chrono::milliseconds(0));
    const std::string reason = "revocation http " + std::to_string(outcome.status);
    io.set_verdict(outcome.status < 400 ? session::Verdict::kRelay : session::Verdict::kDeny,
                   reason);
    const auto* data = reinterpret_cast<const std::uint8_t*>(outcome.response.data());
    if (Status s = io.send(relay::Side::kClient, {data, outcome.response.size()}); !s.ok()) {
      io.close(relay::CloseMode::kReset, "revocation response: " + s.error().message());
      return;
    }
    io.close(relay::CloseMode::kGraceful, reason);
  }

  const certs::HttpBackend& backend_;
  std::vector<std::uint8_t> request_;
  bool answered_ = false;
};

bool is_link_local_v6(const sockaddr_in6& sin6) {
  return IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr);
}

// "[2001:db8::fe]" -> "2001:db8::fe"; anything else unchanged.
std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

relay::HandlerFactory revocation_http_factory(const certs::HttpBackend& backend) {
  return [&backend](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
    return std::make_unique<RevocationHttpHandler>(backend);
  };
}

Result<std::vector<session::Endpoint>> interface_endpoints(const std::string& ifname,
                                                           std::uint16_t port) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return errno_error("getifaddrs");
  std::vector<session::Endpoint> out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || ifname != a->ifa_name) continue;
    const int family = a->ifa_addr->sa_family;
    session::Endpoint ep;
    if (family == AF_INET) {
      ep = session::Endpoint::from_sockaddr(a->ifa_addr, sizeof(sockaddr_in));
    } else if (family == AF_INET6) {
      // Link-local addresses need a scope id in URLs and sockets; crl_host cannot name them.
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (is_link_local_v6(*sin6)) continue;
      ep = session::Endpoint::from_sockaddr(a->ifa_addr, sizeof(sockaddr_in6));
    } else {
      continue;
    }
    if (!ep.empty()) out.push_back(ep.with_port(port));
  }
  ::freeifaddrs(list);
  return out;
}

Result<std::unique_ptr<RevocationServer>> RevocationServer::start(const certs::HttpBackend& backend,
                                                                  const std::string& bridge,
                                                                  const std::string& crl_host,
                                                                  session::SessionTable& table,
                                                                  std::uint16_t port) {
  auto server = std::make_unique<RevocationServer>();
  WB_TRY_ASSIGN(server->addresses_, interface_endpoints(bridge, port));
  if (server->addresses_.empty()) {
    spdlog::warn(
        "revocation http: bridge {} has no IP address; forged certificates name {} but this "
        "bridge cannot serve it",
        bridge, crl_host);
    return server;
  }
  const std::string host = strip_brackets(crl_host);
  if (is_ip_literal(host)) {
    const bool ours =
        std::any_of(server->addresses_.begin(), server->addresses_.end(),
                    [&](const session::Endpoint& e) { return e.address_string() == host; });
    if (!ours) {
      spdlog::warn(
          "revocation http: crl_host {} is not an address of bridge {}; clients reach this "
          "bridge's CRL/OCSP only if something forwards {}:{} to it",
          crl_host, bridge, crl_host, port);
    }
  }

  relay::RelayConfig rc;
  rc.listen = server->addresses_;
  rc.transparent_listener = false;  // ordinary local addresses, never steered flows
  rc.listener_mode = relay::ListenerMode::kShared;
  rc.workers = 1;  // tiny answers from memory: one thread is plenty
  rc.backlog = 256;
  rc.slots_per_worker = 1024;  // bounds what clients of this endpoint can hold
  rc.ring_entries = 256;
  rc.buffer_count = 16;
  rc.buffer_size = 16 * 1024;
  rc.timeouts.first_bytes = kRevocationRequestTimeout;
  rc.timeouts.idle = std::chrono::seconds(15);  // a client that never reads its answer
  WB_TRY_ASSIGN(server->relay_,
                relay::Relay::start(std::move(rc), revocation_http_factory(backend), table));
  for (std::size_t i = 0; i < server->addresses_.size(); ++i) {
    server->addresses_[i] = server->relay_->listener_address(i);  // port 0: the kernel's choice
  }
  std::vector<std::string> names;
  for (const auto& a : server->addresses_) names.push_back(a.to_string());
  spdlog::info("revocation http: crl_host {}, serving on {}", crl_host, fmt::join(names, ", "));
  return server;
}

void RevocationServer::stop() {
  if (relay_) relay_->stop();
}

relay::RelayStats RevocationServer::stats() const {
  return relay_ ? relay_->stats() : relay::RelayStats{};
}

}  // namespace wb::daemon
