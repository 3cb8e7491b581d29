// The transparent path end to end in network namespaces (RoutedLab: the kernel's TPROXY steers
// like bpf_sk_assign does on the bridge): the relay learns the original destination from the
// accepted socket, connects from the client's own address, and the server sees the client.
// Real peers: nginx serving a file, curl fetching it, plus a byte-exact two-way transfer.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "agent/relay/plain_handler.h"
#include "agent/relay/relay.h"
#include "tests/relay/peers.h"
#include "tests/relay/routed_lab.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

class TransparentRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skip_unless_root("the transparent relay's client/router/server namespaces");
    ASSERT_TRUE(lab_.ok()) << lab_.error();
    table_ = std::make_unique<session::SessionTable>(1000);
    NetnsGuard in_router(lab_.router());
    ASSERT_TRUE(in_router.ok());
    relay::RelayConfig config;
    config.listen = {session::Endpoint::parse("0.0.0.0:0").value(),
                     session::Endpoint::parse("[::]:0").value()};
    config.workers = 2;
    config.slots_per_worker = 1024;
    config.upstream = relay::transparent_upstream();
    auto started = relay::Relay::start(std::move(config), relay::plain_relay_factory(), *table_);
    ASSERT_TRUE(started.ok()) << started.error().message();
    relay_ = std::move(started).value();  // its threads stay in the router namespace
    ASSERT_TRUE(
        lab_.steer(80, relay_->listener_address(0).port(), relay_->listener_address(1).port()));
  }
  void TearDown() override {
    if (relay_) relay_->stop();
  }

  RoutedLab lab_;
  std::unique_ptr<session::SessionTable> table_;
  std::unique_ptr<relay::Relay> relay_;
};

// Two-way transfer from `client_ip` to `server`: the server sees the client's own address.
void transfer_keeps_client_address(RoutedLab& lab, session::SessionTable* table,
                                   const std::string& client_ip, const std::string& server_text) {
  constexpr std::uint64_t kBytes = 16ull << 20;
  const auto server_address = session::Endpoint::parse(server_text).value();
  Checksum server_got;
  std::atomic<bool> server_done{false};
  std::unique_ptr<TestServer> server;
  {
    NetnsGuard in_server(lab.server());
    server = std::make_unique<TestServer>(
        [&](int fd) {
          server_done = drain(fd, server_got) == 0;
          send_pattern(fd, kBytes, 9);
        },
        server_address);
  }
  ASSERT_EQ(server->address(), server_address);

  UniqueFd client;
  {
    NetnsGuard in_client(lab.client());
    client = connect_to(server_address);
  }
  ASSERT_TRUE(client);
  set_timeouts(client.get(), 30'000);
  ASSERT_TRUE(eventually([&] { return server->accepted() == 1; }, 10s));
  // The session as the control socket will show it: the client's and the original addresses.
  const auto records = table->snapshot();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].client.address_string(), client_ip);
  EXPECT_EQ(records[0].server, server_address);
  EXPECT_EQ(records[0].protocol, session::Protocol::kTunnel);
  // The server saw the client's own address, not the router's.
  EXPECT_EQ(server->peers().at(0).address_string(), client_ip);

  Checksum sent;
  ASSERT_TRUE(send_pattern(client.get(), kBytes, 4, &sent));
  ASSERT_EQ(::shutdown(client.get(), SHUT_WR), 0);
  Checksum got;
  EXPECT_EQ(drain(client.get(), got), 0);
  EXPECT_EQ(got.bytes(), kBytes);
  Checksum expected;
  std::vector<std::uint8_t> block(1 << 16);
  for (std::uint64_t off = 0; off < kBytes; off += block.size()) {
    fill_pattern(block.data(), block.size(), off, 9);
    expected.add(block.data(), block.size());
  }
  EXPECT_EQ(got.value(), expected.value());
  ASSERT_TRUE(eventually([&] { return server_done.load(); }, 10s));
  EXPECT_EQ(server_got.value(), sent.value());
  ASSERT_TRUE(eventually([&] { return table->active() == 0; }, 10s));
}

TEST_F(TransparentRelayTest, ServerSeesClientAddressAndBytesArriveIntactIpv4) {
  transfer_keeps_client_address(lab_, table_.get(), RoutedLab::kClientIp, "198.51.100.2:80");
}

TEST_F(TransparentRelayTest, ServerSeesClientAddressAndBytesArriveIntactIpv6) {
  transfer_keeps_client_address(lab_, table_.get(), RoutedLab::kClientIp6, "[2001:db8:2::2]:80");
}

TEST_F(TransparentRelayTest, CurlThroughTheRelayGetsNginxBodyAndNginxLogsTheClient) {
  const std::string root = lab_.dir() + "/www";
  ASSERT_EQ(
      run("mkdir -p " + root + " && head -c 20000000 /dev/urandom > " + root +
          "/blob && sha256sum " + root + "/blob | cut -d' ' -f1 > " + lab_.dir() + "/blob.sha256")
          .exit_code,
      0);
  const std::string conf = lab_.dir() + "/nginx.conf";
  std::ofstream(conf) << "user root;\nworker_processes 1;\ndaemon off;\npid " << lab_.dir()
                      << "/nginx.pid;\nerror_log " << lab_.dir() << "/nginx-error.log;\n"
                      << "events { worker_connections 256; }\nhttp {\n"
                      << "  log_format peer '$remote_addr:$remote_port \"$request\" $status';\n"
                      << "  access_log " << lab_.dir() << "/access.log peer;\n"
                      << "  client_body_temp_path " << lab_.dir() << "/body;\n"
                      << "  proxy_temp_path " << lab_.dir() << "/proxy;\n"
                      << "  fastcgi_temp_path " << lab_.dir() << "/fcgi;\n"
                      << "  uwsgi_temp_path " << lab_.dir() << "/uwsgi;\n"
                      << "  scgi_temp_path " << lab_.dir() << "/scgi;\n"
                      << "  server { listen 198.51.100.2:80; root " << root << "; }\n}\n";
  lab_.spawn(lab_.server(), "nginx -c " + conf, "nginx");
  ASSERT_TRUE(eventually(
      [&] { return lab_.exec(lab_.server(), "ss -ltn | grep -q 198.51.100.2:80").exit_code == 0; },
      10s));

  const auto fetched =
      lab_.exec(lab_.client(), "curl -sS --max-time 60 -o " + lab_.dir() +
                                   "/fetched http://198.51.100.2/blob && sha256sum " + lab_.dir() +
                                   "/fetched | cut -d' ' -f1");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(fetched.out, read_file(lab_.dir() + "/blob.sha256"));
  ASSERT_TRUE(eventually([&] { return relay_->stats().closed >= 1; }, 10s));
  EXPECT_GE(relay_->stats().bytes_from_server, 20'000'000u);  // it went through the relay
  const std::string log = read_file(lab_.dir() + "/access.log");
  EXPECT_NE(log.find("192.0.2.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /blob HTTP/1.1\" 200"), std::string::npos) << log;
}

}  // namespace
}  // namespace wb::test
