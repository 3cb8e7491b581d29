// The agent's revocation HTTP endpoint (agent/daemon/revocation_http.h) on the real io_uring
// relay with a real CertService, in a private network namespace on lo (127.0.0.1 and ::1), with
// curl and openssl as the clients: what it serves, what it refuses, and that slow or oversized
// clients are cut off instead of held.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>

#include "agent/daemon/revocation_http.h"
#include "certs/cert_service.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"

namespace wb::daemon {
namespace {

using namespace std::chrono_literals;
using test::run;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class RevocationServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // CI runs as root: a private network namespace is always available, so failing to get one
    // is a failure, not a reason to skip.
    ASSERT_TRUE(test::enter_private_netns()) << "needs CAP_SYS_ADMIN for a private netns";
    dir_ = run("mktemp -d /tmp/wb-revoc-XXXXXX").out;
    dir_.erase(dir_.find_last_not_of('\n') + 1);
    certs::CertConfig cc;
    cc.ephemeral = true;
    cc.state_dir = dir_ + "/state";
    cc.crl_host = "127.0.0.1";
    auto svc = certs::CertService::open(cc);
    ASSERT_TRUE(svc.ok()) << svc.error().message();
    certs_ = std::move(*svc);
    table_ = std::make_unique<session::SessionTable>(100);
    auto server = RevocationServer::start(*certs_, "lo", "127.0.0.1", *table_, 0);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    for (const auto& a : server_->addresses()) {
      (a.is_v6() ? v6_ : v4_) = "http://" + a.to_string();
    }
    ASSERT_FALSE(v4_.empty());
    ASSERT_FALSE(v6_.empty());
    id_ = certs_->info(certs::IssuerRole::trusted).issuer_id;
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (!dir_.empty()) run("rm -rf " + dir_);
  }

  test::CommandResult curl(const std::string& url, const std::string& options = "") {
    return run("curl -sS --max-time 10 " + options + " '" + url + "'", 20s);
  }

  std::string dir_, v4_, v6_, id_;
  std::unique_ptr<certs::CertService> certs_;
  std::unique_ptr<session::SessionTable> table_;
  std::unique_ptr<RevocationServer> server_;
};

TEST_F(RevocationServerTest, ServesTheIssuerAndCrlOnEveryAddress) {
  for (const auto& base : {v4_, v6_}) {
    auto pem = curl(base + "/wirebump/ca/" + id_ + ".pem");
    EXPECT_EQ(pem.exit_code, 0) << pem.err;
    EXPECT_EQ(pem.out, *certs_->ca_pem(id_)) << base;
    auto der = curl(base + "/wirebump/ca/" + id_ + ".crt", "-o " + dir_ + "/ca.der");
    EXPECT_EQ(der.exit_code, 0);
    auto crl = curl(base + "/wirebump/crl/" + id_ + ".crl", "-o " + dir_ + "/x.crl");
    ASSERT_EQ(crl.exit_code, 0) << crl.err;
    run("openssl x509 -inform DER -in " + dir_ + "/ca.der -out " + dir_ + "/ca.pem");
    auto verify = run("openssl crl -inform DER -in " + dir_ + "/x.crl -noout -CAfile " + dir_ +
                      "/ca.pem 2>&1");
    EXPECT_TRUE(contains(verify.out, "verify OK")) << verify.out;
  }
  // Each answer went through the relay as its own session, and every session was closed.
  EXPECT_TRUE(test::eventually([&] { return server_->stats().active == 0; }, 5s));
  EXPECT_GE(server_->stats().accepted, 6u);
}

TEST_F(RevocationServerTest, OcspOverPostAnswersUnknownForAForeignSerial) {
  // A serial this issuer never made: the responder must say unknown, signed and verifiable.
  std::ofstream(dir_ + "/ca.pem") << *certs_->ca_pem(id_);
  auto r = run("openssl ocsp -issuer " + dir_ + "/ca.pem -serial 0x1234 -CAfile " + dir_ +
                   "/ca.pem -url " + v4_ + "/wirebump/ocsp -timeout 10 2>&1",
               20s);
  EXPECT_TRUE(contains(r.out, "Response verify OK")) << r.out;
  EXPECT_TRUE(contains(r.out, "0x1234: unknown")) << r.out;
}

TEST_F(RevocationServerTest, AnythingElseGetsAnErrorStatusNotASilentClose) {
  auto code = [&](const std::string& url, const std::string& options = "") {
    return curl(url, "-o /dev/null -w '%{http_code}' " + options).out;
  };
  EXPECT_EQ(code(v4_ + "/"), "404");
  EXPECT_EQ(code(v4_ + "/wirebump/ca/0123456789abcdef.crt"), "404");
  EXPECT_EQ(code(v6_ + "/wirebump/crl/nope.crl"), "404");
  EXPECT_EQ(code(v4_ + "/wirebump/ca/" + id_ + ".pem", "-X DELETE"), "405");
  // A header far beyond the limit: refused with a 4xx, the connection closed.
  const std::string big(20000, 'a');
  const std::string status = code(v4_ + "/wirebump/ocsp", "-H 'X-Big: " + big + "'");
  EXPECT_EQ(status.substr(0, 1), "4") << status;
  auto head = curl(v4_ + "/wirebump/ca/" + id_ + ".pem", "-I");
  EXPECT_TRUE(contains(head.out, "200")) << head.out;
  EXPECT_TRUE(contains(head.out, "Connection: close")) << head.out;
}

TEST_F(RevocationServerTest, ASlowClientIsCutOffAtTheRequestTimeout) {
  // Half a request line and then silence: the agent must not hold the connection for ever.
  const auto start = std::chrono::steady_clock::now();
  auto r = run("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + v4_.substr(v4_.rfind(':') + 1) +
                   " && printf \"GET /wirebump/ca\" >&3 && timeout 15 cat <&3; echo done'",
               20s);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(contains(r.out, "done")) << r.out << r.err;
  EXPECT_LT(took, kRevocationRequestTimeout + 3s);
  EXPECT_GE(took, kRevocationRequestTimeout - 1s);
}

TEST_F(RevocationServerTest, ABridgeWithOnlyALinkLocalAddressServesNothingAndDoesNotFail) {
  // A link that is up has an fe80:: address only: nothing a URL can name, nothing to bind.
  ASSERT_EQ(run("ip link add wbrv0 type veth peer name wbrv1 && ip link set wbrv0 up && ip link "
                "set wbrv1 up")
                .exit_code,
            0);
  ASSERT_TRUE(test::eventually(
      [] {
        return run("ip -6 addr show dev wbrv0 scope link").out.find("fe80") != std::string::npos;
      },
      5s));
  auto endpoints = interface_endpoints("wbrv0", 80);
  ASSERT_TRUE(endpoints.ok());
  EXPECT_TRUE(endpoints->empty());
  auto server = RevocationServer::start(*certs_, "wbrv0", "192.0.2.99", *table_, 0);
  ASSERT_TRUE(server.ok()) << server.error().message();
  EXPECT_TRUE((*server)->addresses().empty());
  run("ip link del wbrv0");
}

TEST_F(RevocationServerTest, ACrlHostThatIsNotOursIsOnlyAWarning) {
  auto server = RevocationServer::start(*certs_, "lo", "192.0.2.99", *table_, 0);
  ASSERT_TRUE(server.ok()) << server.error().message();
  ASSERT_FALSE((*server)->addresses().empty());
  auto pem =
      curl("http://" + (*server)->addresses()[0].to_string() + "/wirebump/ca/" + id_ + ".pem");
  EXPECT_EQ(pem.out, *certs_->ca_pem(id_));
  (*server)->stop();
}

// With steering (the agent's mode), a CRL host address that is not the bridge's gets the
// transparent listeners the datapath's CRL slots take, and is reported as steered; the bridge's
// own address stays with its plain listener.
TEST_F(RevocationServerTest, AForeignCrlHostIsSteeredToTransparentListeners) {
  RevocationServer::Options options;
  options.port = 0;
  options.steer = true;
  auto server = RevocationServer::start(*certs_, "lo", "[2001:db8:80::80]", *table_, options);
  ASSERT_TRUE(server.ok()) << server.error().message();
  ASSERT_EQ((*server)->crl_addresses().size(), 1u);
  EXPECT_EQ((*server)->crl_addresses()[0].address.address_string(), "2001:db8:80::80");
  EXPECT_EQ((*server)->crl_addresses()[0].serving, CrlServing::kSteered);
  ASSERT_EQ((*server)->steered_addresses().size(), 1u);
  const auto fds = (*server)->steering_listener_fds();
  ASSERT_EQ(fds.size(), 2u);
  int transparent = 0;
  socklen_t len = sizeof(transparent);
  ASSERT_EQ(getsockopt(fds[0], SOL_IP, IP_TRANSPARENT, &transparent, &len), 0);
  EXPECT_EQ(transparent, 1);
  ASSERT_EQ(getsockopt(fds[1], SOL_IPV6, IPV6_TRANSPARENT, &transparent, &len), 0);
  EXPECT_EQ(transparent, 1);
  // The plain listeners on lo still answer.
  ASSERT_FALSE((*server)->addresses().empty());
  auto pem =
      curl("http://" + (*server)->addresses()[0].to_string() + "/wirebump/ca/" + id_ + ".pem");
  EXPECT_EQ(pem.out, *certs_->ca_pem(id_));
  (*server)->stop();

  // The bridge's own address is served locally, nothing to steer.
  auto local = RevocationServer::start(*certs_, "lo", "127.0.0.1", *table_, options);
  ASSERT_TRUE(local.ok()) << local.error().message();
  ASSERT_EQ((*local)->crl_addresses().size(), 1u);
  EXPECT_EQ((*local)->crl_addresses()[0].serving, CrlServing::kLocal);
  EXPECT_TRUE((*local)->steered_addresses().empty());
  EXPECT_TRUE((*local)->steering_listener_fds().empty());
  (*local)->stop();

  // Without steering the same foreign host is only reported, not served.
  options.steer = false;
  auto off = RevocationServer::start(*certs_, "lo", "192.0.2.99", *table_, options);
  ASSERT_TRUE(off.ok()) << off.error().message();
  EXPECT_EQ((*off)->crl_addresses()[0].serving, CrlServing::kNotServed);
  EXPECT_TRUE((*off)->steering_listener_fds().empty());
  (*off)->stop();
}

TEST(CrlHostResolution, LiteralsNamesAndFailures) {
  // Only lo: a name that is not in /etc/hosts cannot make the resolver send anything anywhere.
  ASSERT_TRUE(test::enter_private_netns()) << "needs CAP_SYS_ADMIN for a private netns";
  auto v4 = resolve_crl_host("203.0.113.80", 3000ms);
  ASSERT_EQ(v4.addresses.size(), 1u) << v4.error;
  EXPECT_EQ(v4.addresses[0].address_string(), "203.0.113.80");
  auto v6 = resolve_crl_host("[2001:db8::80]", 3000ms);
  ASSERT_EQ(v6.addresses.size(), 1u) << v6.error;
  EXPECT_EQ(v6.addresses[0].address_string(), "2001:db8::80");
  // A name from /etc/hosts: numeric results only, no duplicates (one per socket type asked).
  auto name = resolve_crl_host("localhost", 3000ms);
  ASSERT_TRUE(name.error.empty()) << name.error;
  ASSERT_FALSE(name.addresses.empty());
  for (std::size_t i = 0; i < name.addresses.size(); ++i) {
    for (std::size_t j = i + 1; j < name.addresses.size(); ++j)
      EXPECT_FALSE(name.addresses[i] == name.addresses[j]);
  }
  EXPECT_TRUE(name.addresses[0].address_string() == "127.0.0.1" ||
              name.addresses[0].address_string() == "::1");
  // .invalid never resolves (RFC 6761): a clear error naming the host, bounded in time.
  const auto start = std::chrono::steady_clock::now();
  auto bad = resolve_crl_host("no-such-host.invalid", 3000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_TRUE(bad.addresses.empty());
  EXPECT_TRUE(contains(bad.error, "no-such-host.invalid")) << bad.error;
  EXPECT_TRUE(contains(resolve_crl_host("", 1000ms).error, "empty"));
  // Link-local IPv6 cannot be named in a URL without a scope: not usable.
  EXPECT_FALSE(resolve_crl_host("fe80::1", 1000ms).error.empty());
}

}  // namespace
}  // namespace wb::daemon
