#include "agent/daemon/revocation_http.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "agent/common/log.h"
#include "bpf/wirebump_abi.h"

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

// One getaddrinfo on its own thread; the caller waits at most its timeout. A resolver that
// hangs keeps only this small shared state alive until it returns, never the agent's start.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  int status = 0;
  std::vector<session::Endpoint> addresses;
};

void lookup_thread(std::shared_ptr<Lookup> lookup, std::string host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int status = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  std::vector<session::Endpoint> found;
  for (addrinfo* a = list; status == 0 && a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    found.push_back(session::Endpoint::from_sockaddr(a->ai_addr, a->ai_addrlen).with_port(0));
  }
  if (list != nullptr) ::freeaddrinfo(list);
  std::lock_guard lock(lookup->mutex);
  lookup->status = status;
  lookup->addresses = std::move(found);
  lookup->done = true;
  lookup->done_cv.notify_all();
}

// Numeric, usable, distinct, bounded: what can go into wb_crl_addr and a listener.
std::vector<session::Endpoint> usable(const std::vector<session::Endpoint>& found) {
  std::vector<session::Endpoint> out;
  for (const auto& ep : found) {
    if (ep.empty() || out.size() >= WB_CRL_ADDR_MAX) continue;
    if (ep.is_v6() && is_link_local_v6(*reinterpret_cast<const sockaddr_in6*>(ep.sockaddr_ptr())))
      continue;
    if (std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(ep);
  }
  return out;
}

}  // namespace

CrlResolution resolve_crl_host(const std::string& crl_host, std::chrono::milliseconds timeout) {
  CrlResolution out;
  const std::string host = strip_brackets(crl_host);
  if (host.empty()) {
    out.error = "crl_host is empty";
    return out;
  }
  if (is_ip_literal(host)) {
    auto ep = session::Endpoint::parse(host.find(':') == std::string::npos ? host + ":0"
                                                                           : "[" + host + "]:0");
    if (ep.ok()) out.addresses = usable({*ep});
    if (out.addresses.empty()) out.error = "crl_host " + crl_host + " is not a usable address";
    return out;
  }
  auto lookup = std::make_shared<Lookup>();
  std::thread(lookup_thread, lookup, host).detach();
  std::unique_lock lock(lookup->mutex);
  if (!lookup->done_cv.wait_for(lock, timeout, [&] { return lookup->done; })) {
    out.error = "resolving crl_host " + crl_host + " took longer than " +
                std::to_string(timeout.count()) + " ms";
    return out;
  }
  if (lookup->status != 0) {
    out.error = "resolving crl_host " + crl_host + ": " + ::gai_strerror(lookup->status);
    return out;
  }
  out.addresses = usable(lookup->addresses);
  if (out.addresses.empty()) out.error = "crl_host " + crl_host + " has no usable address";
  return out;
}

const char* label(CrlServing serving) {
  switch (serving) {
    case CrlServing::kLocal:
      return "local";
    case CrlServing::kSteered:
      return "steered";
    case CrlServing::kNotServed:
      return "not_served";
  }
  return "not_served";
}

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
  Options options;
  options.port = port;
  return start(backend, bridge, crl_host, table, options);
}

namespace {

// The CRL host's addresses against the bridge's: the bridge's own are served by its plain
// listeners, the others (with steering) through the classifier.
std::vector<CrlAddress> classify_crl_addresses(const CrlResolution& resolved,
                                               const std::vector<session::Endpoint>& bridge_eps,
                                               std::uint16_t port) {
  std::vector<CrlAddress> out;
  for (const auto& ep : resolved.addresses) {
    const bool ours = std::any_of(
        bridge_eps.begin(), bridge_eps.end(),
        [&](const session::Endpoint& b) { return b.address_string() == ep.address_string(); });
    out.push_back({ep.with_port(port), ours ? CrlServing::kLocal : CrlServing::kSteered});
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<RevocationServer>> RevocationServer::start(const certs::HttpBackend& backend,
                                                                  const std::string& bridge,
                                                                  const std::string& crl_host,
                                                                  session::SessionTable& table,
                                                                  const Options& options) {
  auto server = std::make_unique<RevocationServer>();
  server->crl_host_ = crl_host;
  WB_TRY_ASSIGN(server->addresses_, interface_endpoints(bridge, options.port));
  const CrlResolution resolved = resolve_crl_host(crl_host, options.resolve_timeout);
  server->resolve_error_ = resolved.error;
  if (!resolved.error.empty()) {
    spdlog::warn(
        "revocation http: {}; forged certificates name it, but this bridge serves only its own "
        "addresses",
        resolved.error);
  }
  server->crl_addresses_ = classify_crl_addresses(resolved, server->addresses_, options.port);
  std::vector<std::string> steered;
  for (auto& a : server->crl_addresses_) {
    if (a.serving != CrlServing::kSteered) continue;
    if (!options.steer) a.serving = CrlServing::kNotServed;
    steered.push_back(a.address.address_string());
  }
  if (!steered.empty() && !options.steer) {
    spdlog::warn(
        "revocation http: crl_host {} ({}) is not an address of bridge {}; clients reach this "
        "bridge's CRL/OCSP only if something forwards port {} to it",
        crl_host, fmt::join(steered, ", "), bridge, options.port);
    steered.clear();
  }
  if (server->addresses_.empty() && steered.empty()) {
    spdlog::warn(
        "revocation http: bridge {} has no IP address; forged certificates name {} but this "
        "bridge cannot serve it",
        bridge, crl_host);
    return server;
  }

  relay::RelayConfig rc;
  rc.listen = server->addresses_;
  server->steering_first_ = rc.listen.size();
  if (!steered.empty()) {
    // Steered SYNs are assigned to these by the classifier (bpf_sk_assign); their own loopback
    // addresses are never reached by routing. IP_TRANSPARENT lets the accepted sockets answer
    // from the CRL host's address, which is not the bridge's.
    rc.listen.push_back(session::Endpoint::parse("127.0.0.1:0").value());
    rc.listen.push_back(session::Endpoint::parse("[::1]:0").value());
    server->steering_count_ = 2;
  }
  // Also on the plain listeners of the bridge's own addresses, where it changes nothing.
  rc.transparent_listener = !steered.empty();
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
  spdlog::info("revocation http: crl_host {}, serving on {}{}{}", crl_host, fmt::join(names, ", "),
               steered.empty() ? "" : "; steered to this bridge: ", fmt::join(steered, ", "));
  return server;
}

std::vector<session::Endpoint> RevocationServer::steered_addresses() const {
  std::vector<session::Endpoint> out;
  if (steering_count_ == 0) return out;
  for (const auto& a : crl_addresses_) {
    if (a.serving == CrlServing::kSteered) out.push_back(a.address);
  }
  return out;
}

std::vector<int> RevocationServer::steering_listener_fds() const {
  std::vector<int> out;
  for (std::size_t i = 0; relay_ && i < steering_count_; ++i) {
    out.push_back(relay_->listener_fd_for_steering(steering_first_ + i));
  }
  return out;
}

void RevocationServer::stop() {
  if (relay_) relay_->stop();
}

relay::RelayStats RevocationServer::stats() const {
  return relay_ ? relay_->stats() : relay::RelayStats{};
}

}  // namespace wb::daemon
