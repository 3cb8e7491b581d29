// The fixture of the interception handler's e2e tests: the handler on the real io_uring relay,
// with real TLS peers (openssl s_server, curl, openssl s_client) on loopback inside a private
// network namespace. The relay runs with
// fixed_upstream (no BPF steering here), so the "original destination" is the relay's listener
// and the SNI is what the clients send; the full through-the-bridge tests live with the daemon.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "agent/intercept/intercept_service.h"
#include "agent/relay/relay.h"
#include "certs/cert_service.h"
#include "tests/intercept/test_pki.h"
#include "tests/intercept/tls_peers.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"

namespace wb::intercept::e2e {

using namespace std::chrono_literals;
using test::run;

inline std::uint16_t free_port() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

inline bool port_open(std::uint16_t port) {
  return static_cast<bool>(test::connect_to(session::Endpoint::loopback_v4(port)));
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class InterceptE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    // CI runs as root: a private network namespace is always available, so failing to get one
    // is a failure, not a reason to skip.
    ASSERT_TRUE(test::enter_private_netns()) << "needs CAP_SYS_ADMIN for a private netns";
    dir_ = test::make_temp_dir("icpt");
    ca_ = test::make_ca("Real Test Root");
    server_ = test::make_leaf(ca_, "www.example.test",
                              {"www.example.test", "sip.example.test", "bank.example.test",
                               "banner.example.test", "pinned.example.test"},
                              {"127.0.0.1"});
    client_cert_ = test::make_leaf(ca_, "client.example.test", {"client.example.test"});
    ca_file_ = ca_.write(dir_, "real-ca");
    server_.write(dir_, "server");
    client_cert_.write(dir_, "client");

    certs::CertConfig cc;
    cc.state_dir = dir_ + "/state";
    cc.ephemeral = true;
    cc.crl_host = "crl.wirebump.test";
    auto certs = certs::CertService::open(cc);
    ASSERT_TRUE(certs.ok()) << certs.error().message();
    certs_ = std::move(*certs);
    ASSERT_TRUE(certs_->wait_ready(30s));
    auto issuer_pem = certs::cert_to_pem(certs_->issuer(certs::IssuerRole::trusted).cert());
    ASSERT_TRUE(issuer_pem.ok());
    issuer_file_ = dir_ + "/issuer.pem";
    test::write_text(issuer_file_, *issuer_pem);
    both_file_ = dir_ + "/both.pem";
    test::write_text(both_file_, *issuer_pem + ca_.cert_pem());

    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512);
    spdlog::default_logger()->sinks().push_back(log_);
    spdlog::set_level(spdlog::level::info);
  }

  void TearDown() override {
    relay_.reset();  // closes every session before the services go
    servers_.clear();
    if (log_) {
      auto& sinks = spdlog::default_logger()->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
    }
    service_.reset();
    certs_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // An `openssl s_server` with the real server certificate (or `cert`: the name given to
  // CertAndKey::write) on `port` (0: a fresh one).
  std::uint16_t start_server(const std::string& extra, std::uint16_t port = 0,
                             const std::string& cert = "server") {
    if (port == 0) port = free_port();
    servers_.push_back(std::make_unique<test::Process>(test::Process::spawn(
        "exec openssl s_server -accept 127.0.0.1:" + std::to_string(port) + " -cert " + dir_ + "/" +
            cert + ".crt -key " + dir_ + "/" + cert + ".key " + extra,
        dir_ + "/server-" + std::to_string(port) + ".log")));
    EXPECT_TRUE(test::eventually([&] { return port_open(port); }, 10s));
    return port;
  }

  // The relay with the interception handler in front of `server_port`.
  void start_relay(std::uint16_t server_port, bool keylog = false,
                   bool speculative_handshake = true, InterceptOptions options = {}) {
    options.speculative_handshake = speculative_handshake;
    options.trust_store = ca_file_;
    options.server_first_timeout = 300ms;
    options.handshake_timeout = 5s;
    if (keylog) options.keylog = dir_ + "/keys.log";
    auto service = InterceptService::create(options, policy_, *certs_);
    ASSERT_TRUE(service.ok()) << service.error().message();
    service_ = std::move(*service);
    table_ = std::make_unique<session::SessionTable>(100);
    relay::RelayConfig config;
    config.listen = {session::Endpoint::loopback_v4(0)};
    config.transparent_listener = false;
    config.workers = 1;
    config.slots_per_worker = 256;
    config.upstream = relay::fixed_upstream(session::Endpoint::loopback_v4(server_port));
    auto relay = relay::Relay::start(config, service_->factory(), *table_);
    ASSERT_TRUE(relay.ok()) << relay.error().message();
    relay_ = std::move(*relay);
    port_ = relay_->listener_address(0).port();
  }

  std::string url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(port_) + "/";
  }
  std::string resolve(const std::string& host) const {
    return " --resolve " + host + ":" + std::to_string(port_) + ":127.0.0.1 ";
  }
  // curl through the relay; returns the result (out = body + "\n" + http code).
  test::CommandResult curl(const std::string& host, const std::string& args) {
    return run(
        "curl -sS --max-time 10 -w '\\nHTTP %{http_code}' " + args + resolve(host) + url(host),
        20s);
  }
  // openssl s_client through the relay, sending `input` and staying `linger` seconds.
  test::CommandResult s_client(const std::string& sni, const std::string& input, int linger,
                               const std::string& args = "") {
    return run("(printf '" + input + "'; sleep " + std::to_string(linger) +
                   ") | openssl s_client -quiet -no_ign_eof -nocommands -connect 127.0.0.1:" +
                   std::to_string(port_) + " -servername " + sni + " " + args + " 2>&1",
               30s);
  }
  std::string logs() const {
    std::string all;
    for (const auto& line : log_->last_formatted()) all += line;
    return all;
  }
  // The session end line for `sni` (the last one), or "".
  std::string end_line(const std::string& sni) const {
    std::string found;
    for (const auto& line : log_->last_formatted()) {
      if (contains(line, " end: ") && contains(line, "sni=" + sni + " ")) found = line;
    }
    return found;
  }
  // A live session's record, polled until `pred` holds.
  std::optional<session::SessionRecord> live_session(
      const std::function<bool(const session::SessionRecord&)>& pred) {
    std::optional<session::SessionRecord> hit;
    test::eventually(
        [&] {
          for (const auto& r : table_->snapshot()) {
            if (pred(r)) {
              hit = r;
              return true;
            }
          }
          return false;
        },
        10s);
    return hit;
  }

  std::string dir_;
  test::CertAndKey ca_, server_, client_cert_;
  std::string ca_file_, issuer_file_, both_file_;
  std::unique_ptr<certs::CertService> certs_;
  policy::Policy policy_;
  std::unique_ptr<InterceptService> service_;
  std::unique_ptr<session::SessionTable> table_;
  std::unique_ptr<relay::Relay> relay_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<test::Process>> servers_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
};

}  // namespace wb::intercept::e2e
