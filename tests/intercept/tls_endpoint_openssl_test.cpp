// TlsEndpoint against the real OpenSSL command-line peers over loopback sockets (in a private
// network namespace): our client role against `openssl s_server`, our server role against
// `openssl s_client`. The socket pump here stands in for the relay's io_uring loop.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <filesystem>

#include "agent/intercept/tls_contexts.h"
#include "agent/intercept/tls_endpoint.h"
#include "tests/intercept/test_pki.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"

namespace wb::intercept {
namespace {

using namespace std::chrono_literals;
using Progress = TlsEndpoint::Progress;

// Moves bytes between a socket and an endpoint until `done` or the deadline; false on timeout.
template <class Done>
bool pump_socket(int fd, TlsEndpoint& ep, Done done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::uint8_t buf[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto out = ep.output(); !out.empty()) {
      if (!test::write_all(fd, out.data(), out.size())) return false;
      ep.consume_output();
    }
    if (done()) return true;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        ep.feed({buf, static_cast<std::size_t>(n)});
      } else {
        ep.feed_eof();
      }
    }
    if (!ep.handshake_done()) ep.handshake();
  }
  return done();
}

class OpensslPeers : public ::testing::Test {
 protected:
  void SetUp() override {
    // CI runs as root: a private network namespace is always available, so failing to get one
    // is a failure, not a reason to skip.
    ASSERT_TRUE(test::enter_private_netns()) << "needs CAP_SYS_ADMIN for a private netns";
    dir_ = test::make_temp_dir("tls-ossl");
    ca_file_ = ca_.write(dir_, "ca");
    leaf_.write(dir_, "server");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::uint16_t s_server(const std::string& extra) {
    const std::uint16_t port = static_cast<std::uint16_t>(25000 + (++count_));
    server_ = test::Process::spawn(
        "exec openssl s_server -accept 127.0.0.1:" + std::to_string(port) + " -cert " + dir_ +
            "/server.crt -key " + dir_ + "/server.key " + extra,
        dir_ + "/s_server.log");
    EXPECT_TRUE(test::eventually(
        [&] { return static_cast<bool>(test::connect_to(session::Endpoint::loopback_v4(port))); },
        10s));
    return port;
  }

  std::string dir_;
  test::CertAndKey ca_ = test::make_ca("OpenSSL Peer Root");
  test::CertAndKey leaf_ = test::make_leaf(ca_, "peer.example.test", {"peer.example.test"});
  std::string ca_file_;
  test::Process server_;
  int count_ = 0;
};

TEST_F(OpensslPeers, ClientRoleAgainstSServer) {
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const auto port = s_server(std::string(version) + " -alpn h2,http/1.1 -www");
    auto ctx = make_upstream_ctx({.trust_store = ca_file_}).value();
    auto ep = TlsEndpoint::create(ctx.get(), Role::kClient).value();
    ASSERT_TRUE(configure_upstream(*ep, {"peer.example.test", {"http/1.1"}, ""}).ok());
    UniqueFd fd = test::connect_to(session::Endpoint::loopback_v4(port));
    ASSERT_TRUE(fd);
    ep->handshake();
    ASSERT_TRUE(pump_socket(fd.get(), *ep, [&] { return ep->handshake_done(); }))
        << ep->failure().reason;
    auto r = upstream_result(*ep);
    EXPECT_TRUE(r.verified) << r.verify_error;
    EXPECT_EQ(r.alpn, "http/1.1");
    ASSERT_TRUE(
        ep->write(std::vector<std::uint8_t>{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/',
                                            '1', '.', '0', '\r', '\n', '\r', '\n'})
            .ok());
    std::vector<std::uint8_t> body;
    pump_socket(fd.get(), *ep, [&] {
      const auto p = ep->read(body);
      return p == Progress::kClosed || p == Progress::kFailed;
    });
    const std::string text(body.begin(), body.end());
    EXPECT_NE(text.find("HTTP/1.0 200 ok"), std::string::npos)
        << version << " " << text.substr(0, 200);
    server_.stop();
  }
}

TEST_F(OpensslPeers, ClientRoleSeesSServerAskingForACertificate) {
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const auto port = s_server(std::string(version) + " -Verify 1 -CAfile " + ca_file_ + " -www");
    auto ctx = make_upstream_ctx({.trust_store = ca_file_}).value();
    auto ep = TlsEndpoint::create(ctx.get(), Role::kClient).value();
    ASSERT_TRUE(configure_upstream(*ep, {"peer.example.test", {}, ""}).ok());
    UniqueFd fd = test::connect_to(session::Endpoint::loopback_v4(port));
    ep->handshake();
    pump_socket(fd.get(), *ep, [&] { return ep->failure().kind != TlsFailure::Kind::kNone; });
    EXPECT_EQ(ep->failure().kind, TlsFailure::Kind::kClientCertRequested)
        << version << ": " << ep->failure().reason;
    server_.stop();
  }
}

TEST_F(OpensslPeers, ServerRoleAgainstSClient) {
  const std::vector<std::uint8_t> staple = {0x30, 0x03, 0x0a, 0x01,
                                            0x01};  // OCSPResponse, malformedRequest
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(listener.get(), 1), 0);
    socklen_t len = sizeof a;
    getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
    const auto port = ntohs(a.sin_port);
    auto client = test::Process::spawn(
        "(printf 'ping from s_client\\n'; sleep 2) | exec openssl s_client -quiet -no_ign_eof "
        "-nocommands " +
            std::string(version) + " -connect 127.0.0.1:" + std::to_string(port) +
            " -servername peer.example.test -alpn h2,http/1.1 -status -CAfile " + ca_file_ +
            " -verify_return_error",
        dir_ + "/s_client.log");
    UniqueFd fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(fd);
    auto ctx = make_client_leg_ctx({}).value();
    auto ep = TlsEndpoint::create(ctx.get(), Role::kServer).value();
    ASSERT_TRUE(configure_client_leg(
                    *ep, {leaf_.cert.get(), leaf_.key.get(), ca_.cert.get(), "http/1.1", staple})
                    .ok());
    ASSERT_TRUE(pump_socket(fd.get(), *ep, [&] { return ep->handshake_done(); }))
        << ep->failure().reason;
    EXPECT_EQ(ep->alpn(), "http/1.1");
    EXPECT_TRUE(ep->stapled());
    std::vector<std::uint8_t> got;
    pump_socket(fd.get(), *ep, [&] {
      ep->read(got);
      return std::string(got.begin(), got.end()).find('\n') != std::string::npos;
    });
    EXPECT_EQ(std::string(got.begin(), got.end()), "ping from s_client\n") << version;
    ASSERT_TRUE(ep->write(std::vector<std::uint8_t>{'p', 'o', 'n', 'g', '\n'}).ok());
    pump_socket(fd.get(), *ep, [&] { return ep->output().empty(); });
    client.wait(10s);
    const auto log = client.log();
    EXPECT_NE(log.find("pong"), std::string::npos) << log;
    EXPECT_NE(log.find("verify return:1"), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace wb::intercept
