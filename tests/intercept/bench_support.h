// Helpers shared by the interception benchmark programs (not tests): the relay, certificate
// service and interception service they run in-process, and the OpenSSL command-line clients
// they measure with.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "agent/intercept/intercept_service.h"
#include "agent/relay/relay.h"
#include "certs/cert_service.h"
#include "tests/intercept/test_pki.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"

namespace wb::test::bench {

using namespace std::chrono_literals;
namespace wbi = wb::intercept;

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// `openssl s_time -new` for `seconds`: "N connections in T real seconds".
struct STime {
  double connections = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? connections / seconds : 0; }
};

inline STime s_time_run(std::uint16_t port, const std::string& ca, int seconds) {
  const auto r =
      wb::test::run("openssl s_time -connect 127.0.0.1:" + std::to_string(port) + " -new -time " +
                        std::to_string(seconds) + " -CAfile " + ca + " 2>&1",
                    std::chrono::seconds(seconds * 3 + 30));
  const auto pos = r.out.find(" real seconds");
  if (pos == std::string::npos) {
    std::fprintf(stderr, "s_time: %s\n", r.out.c_str());
    return {};
  }
  STime out;
  const auto line_start = r.out.rfind('\n', pos);
  std::sscanf(r.out.c_str() + (line_start == std::string::npos ? 0 : line_start + 1),
              "%lf connections in %lf real seconds", &out.connections, &out.seconds);
  return out;
}

// New connections per second.
inline double s_time(std::uint16_t port, const std::string& ca, int seconds) {
  return s_time_run(port, ca, seconds).rate();
}

// MiB/s of one curl download of `file` (HTTP/1.0 from s_server -WWW).
inline double bulk(std::uint16_t port, const std::string& ca, const std::string& file) {
  const auto r =
      wb::test::run("curl -sS --max-time 120 -o /dev/null -w '%{speed_download}' --cacert " + ca +
                        " https://127.0.0.1:" + std::to_string(port) + "/" + file,
                    150s);
  return std::atof(r.out.c_str()) / (1024.0 * 1024.0);
}

inline std::unique_ptr<wb::relay::Relay> start_relay(std::uint16_t server_port,
                                                     wb::relay::HandlerFactory factory,
                                                     wb::session::SessionTable& table,
                                                     std::size_t workers = 1) {
  wb::relay::RelayConfig config;
  config.listen = {wb::session::Endpoint::loopback_v4(0)};
  config.transparent_listener = false;
  config.workers = workers;
  config.upstream = wb::relay::fixed_upstream(wb::session::Endpoint::loopback_v4(server_port));
  auto relay = wb::relay::Relay::start(config, std::move(factory), table);
  if (!relay) {
    std::fprintf(stderr, "relay: %s\n", relay.error().message().c_str());
    std::exit(1);
  }
  return std::move(*relay);
}

// The bridge's certificate service (ephemeral issuers) with its trusted issuer written to
// <dir>/issuer.pem for the clients; exits when it cannot start.
inline std::unique_ptr<wb::certs::CertService> open_certs(const std::string& dir,
                                                          std::size_t cache_capacity) {
  wb::certs::CertConfig cc;
  cc.ephemeral = true;
  cc.crl_host = "crl.wirebump.test";
  cc.cache_capacity = cache_capacity;
  auto certs = wb::certs::CertService::open(cc);
  if (!certs || !(*certs)->wait_ready(60s)) {
    std::fprintf(stderr, "certs not ready\n");
    std::exit(1);
  }
  auto issuer_pem = wb::certs::cert_to_pem((*certs)->issuer(wb::certs::IssuerRole::trusted).cert());
  wb::test::write_text(dir + "/issuer.pem", *issuer_pem);
  return std::move(*certs);
}

// The interception service verifying upstreams against `ca_file`; exits when it cannot start.
inline std::unique_ptr<wbi::InterceptService> make_service(wb::policy::Policy& policy,
                                                           wb::certs::CertService& certs,
                                                           const std::string& ca_file,
                                                           std::size_t upstream_sessions = 4096) {
  wbi::InterceptOptions options;
  options.trust_store = ca_file;
  options.upstream_sessions = upstream_sessions;
  auto service = wbi::InterceptService::create(options, policy, certs);
  if (!service) {
    std::fprintf(stderr, "intercept: %s\n", service.error().message().c_str());
    std::exit(1);
  }
  return std::move(*service);
}

}  // namespace wb::test::bench
