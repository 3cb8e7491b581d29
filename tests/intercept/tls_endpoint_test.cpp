// TlsEndpoint and the two legs' contexts, connected to each other purely in memory: no sockets,
// the test moves ciphertext between the endpoints like the relay would.
#include "agent/intercept/tls_endpoint.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <filesystem>

#include "agent/intercept/tls_contexts.h"
#include "tests/intercept/test_pki.h"
#include "tests/intercept/tls_pump.h"
#include "tests/support/process.h"

namespace wb::intercept {
namespace {

using Progress = TlsEndpoint::Progress;

// The value of a Result that must be ok (fails the test loudly otherwise).
template <class T>
T must(Result<T> r) {
  if (!r.ok()) ADD_FAILURE() << r.error().message();
  return std::move(r).value();
}

struct Pki {
  std::string dir = test::make_temp_dir("tlsep");
  test::CertAndKey ca = test::make_ca("wirebump test root");
  test::CertAndKey leaf =
      test::make_leaf(ca, "www.example.test", {"www.example.test"}, {"192.0.2.2"});
  std::string ca_file = ca.write(dir, "ca");
  ~Pki() { std::filesystem::remove_all(dir); }
};

using test::pump;

struct Legs {
  std::unique_ptr<TlsEndpoint> client;  // our upstream leg (client role)
  std::unique_ptr<TlsEndpoint> server;  // our client leg (server role)
};

class TlsEndpointTest : public ::testing::Test {
 protected:
  Pki pki;
  SslCtxPtr upstream_ctx = must(make_upstream_ctx({.trust_store = pki.ca_file}));
  SslCtxPtr server_ctx = must(make_client_leg_ctx({}));

  Legs connect(const UpstreamParams& up, const std::string& server_alpn, int max_version = 0) {
    Legs legs{must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient)),
              must(TlsEndpoint::create(server_ctx.get(), Role::kServer))};
    EXPECT_TRUE(configure_upstream(*legs.client, up).ok());
    if (max_version != 0) SSL_set_max_proto_version(legs.client->ssl(), max_version);
    EXPECT_TRUE(configure_client_leg(
                    *legs.server,
                    {pki.leaf.cert.get(), pki.leaf.key.get(), pki.ca.cert.get(), server_alpn, {}})
                    .ok());
    EXPECT_EQ(legs.client->handshake(), Progress::kWantMore);
    pump(*legs.client, *legs.server);
    return legs;
  }
};

TEST_F(TlsEndpointTest, HandshakeVerifiesAndCarriesDataBothWays) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto legs = connect({"www.example.test", {"h2", "http/1.1"}, ""}, "http/1.1", version);
    ASSERT_TRUE(legs.client->handshake_done()) << legs.client->failure().reason;
    ASSERT_TRUE(legs.server->handshake_done()) << legs.server->failure().reason;
    EXPECT_EQ(legs.client->version(), version == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
    auto r = upstream_result(*legs.client);
    EXPECT_TRUE(r.verified) << r.verify_error;
    EXPECT_EQ(r.alpn, "http/1.1");
    EXPECT_EQ(legs.server->alpn(), "http/1.1");
    ASSERT_NE(r.leaf, nullptr);
    EXPECT_EQ(X509_cmp(r.leaf, pki.leaf.cert.get()), 0);

    const std::string request = "GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n";
    ASSERT_TRUE(
        legs.client->write({reinterpret_cast<const std::uint8_t*>(request.data()), request.size()})
            .ok());
    pump(*legs.client, *legs.server);
    std::vector<std::uint8_t> got;
    EXPECT_EQ(legs.server->read(got), Progress::kDone);
    EXPECT_EQ(std::string(got.begin(), got.end()), request);
    EXPECT_EQ(legs.server->read(got), Progress::kWantMore);

    // A large reply crosses many records.
    std::vector<std::uint8_t> big(200 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
    ASSERT_TRUE(legs.server->write(big).ok());
    pump(*legs.client, *legs.server);
    std::vector<std::uint8_t> reply;
    while (legs.client->read(reply) == Progress::kDone) {
    }
    EXPECT_EQ(reply, big);

    // Drained, the memory BIOs keep their high-water allocation until released; released, the
    // session goes on with fresh ones.
    EXPECT_GE(legs.server->buffer_capacity(), big.size());
    EXPECT_GE(legs.client->buffer_capacity(), 16u * 1024);
    legs.server->release_buffers();
    legs.client->release_buffers();
    EXPECT_EQ(legs.server->buffer_capacity(), 0u);
    EXPECT_EQ(legs.client->buffer_capacity(), 0u);
    ASSERT_TRUE(legs.server->write(big).ok());
    pump(*legs.client, *legs.server);
    reply.clear();
    while (legs.client->read(reply) == Progress::kDone) {
    }
    EXPECT_EQ(reply, big);

    // close_notify is an orderly end.
    legs.server->shutdown();
    pump(*legs.client, *legs.server);
    std::vector<std::uint8_t> none;
    EXPECT_EQ(legs.client->read(none), Progress::kClosed);
  }
}

TEST_F(TlsEndpointTest, NoAlpnWhenServerChoseNone) {
  auto legs = connect({"www.example.test", {"h2"}, ""}, "");
  ASSERT_TRUE(legs.server->handshake_done());
  EXPECT_EQ(legs.client->alpn(), "");
}

TEST_F(TlsEndpointTest, HostNameMismatchIsNotVerified) {
  auto legs = connect({"other.example.test", {}, ""}, "");
  ASSERT_TRUE(legs.client->handshake_done());
  auto r = upstream_result(*legs.client);
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.verify_code, X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(TlsEndpointTest, IpLiteralVerifiedWithoutSni) {
  auto ok = connect({"", {}, "192.0.2.2"}, "");
  ASSERT_TRUE(ok.client->handshake_done());
  EXPECT_TRUE(upstream_result(*ok.client).verified);
  auto bad = connect({"", {}, "192.0.2.9"}, "");
  ASSERT_TRUE(bad.client->handshake_done());
  EXPECT_EQ(upstream_result(*bad.client).verify_code, X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST_F(TlsEndpointTest, UnknownIssuerIsNotVerified) {
  Pki other;  // a different root in the trust store
  upstream_ctx = must(make_upstream_ctx({.trust_store = other.ca_file}));
  auto legs = connect({"www.example.test", {}, ""}, "");
  ASSERT_TRUE(legs.client->handshake_done());
  auto r = upstream_result(*legs.client);
  EXPECT_FALSE(r.verified);
  // Our chain carries the (unknown) root itself.
  EXPECT_EQ(r.verify_code, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
}

TEST_F(TlsEndpointTest, MissingTrustStoreIsAClearError) {
  auto ctx = make_upstream_ctx({.trust_store = "/nonexistent/bundle.pem"});
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.error().message().find("/nonexistent/bundle.pem"), std::string::npos);
}

TEST_F(TlsEndpointTest, ClientRejectingCertificateIsSeenAsAlert) {
  // A strict client that does not trust our issuer: it sends unknown_ca.
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Pki other;
    SslCtxPtr strict(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_load_verify_file(strict.get(), other.ca_file.c_str());
    SSL_CTX_set_verify(strict.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_max_proto_version(strict.get(), version);
    auto client = must(TlsEndpoint::create(strict.get(), Role::kClient));
    auto server = must(TlsEndpoint::create(server_ctx.get(), Role::kServer));
    ASSERT_TRUE(configure_client_leg(
                    *server, {pki.leaf.cert.get(), pki.leaf.key.get(), pki.ca.cert.get(), "", {}})
                    .ok());
    client->handshake();
    pump(*client, *server);
    EXPECT_FALSE(server->handshake_done());
    EXPECT_EQ(server->handshake(), Progress::kFailed);
    EXPECT_EQ(server->failure().kind, TlsFailure::Kind::kAlertReceived);
    EXPECT_EQ(server->failure().alert, 48);
    EXPECT_EQ(server->failure().reason, "alert unknown_ca received");
  }
}

TEST_F(TlsEndpointTest, ServerAskingForClientCertificatePausesUpstream) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SslCtxPtr demanding = must(make_client_leg_ctx({}));
    SSL_CTX_set_verify(demanding.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
    auto client = must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient));
    ASSERT_TRUE(configure_upstream(*client, {"www.example.test", {}, ""}).ok());
    SSL_set_max_proto_version(client->ssl(), version);
    auto server = must(TlsEndpoint::create(demanding.get(), Role::kServer));
    ASSERT_TRUE(
        configure_client_leg(*server, {pki.leaf.cert.get(), pki.leaf.key.get(), nullptr, "", {}})
            .ok());
    client->handshake();
    pump(*client, *server);
    EXPECT_EQ(client->handshake(), Progress::kFailed);
    EXPECT_EQ(client->failure().kind, TlsFailure::Kind::kClientCertRequested);
    EXPECT_EQ(client->failure().reason, "client certificate requested");
    EXPECT_FALSE(server->handshake_done());
  }
}

TEST_F(TlsEndpointTest, StaplesOcspOnlyWhenAsked) {
  const std::vector<std::uint8_t> staple = {0x30, 0x03, 0x0a, 0x01, 0x00};
  for (bool ask : {true, false}) {
    auto client = must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient));
    ASSERT_TRUE(configure_upstream(*client, {"www.example.test", {}, ""}).ok());
    if (ask) SSL_set_tlsext_status_type(client->ssl(), TLSEXT_STATUSTYPE_ocsp);
    auto server = must(TlsEndpoint::create(server_ctx.get(), Role::kServer));
    ASSERT_TRUE(configure_client_leg(*server, {pki.leaf.cert.get(), pki.leaf.key.get(),
                                               pki.ca.cert.get(), "", staple})
                    .ok());
    client->handshake();
    pump(*client, *server);
    ASSERT_TRUE(client->handshake_done());
    const unsigned char* resp = nullptr;
    const long len = SSL_get_tlsext_status_ocsp_resp(client->ssl(), &resp);
    if (ask) {
      ASSERT_EQ(len, static_cast<long>(staple.size()));
      EXPECT_EQ(std::vector<std::uint8_t>(resp, resp + len), staple);
      EXPECT_TRUE(server->stapled());
    } else {
      EXPECT_EQ(len, -1);
      EXPECT_FALSE(server->stapled());
    }
  }
}

TEST_F(TlsEndpointTest, EofWithoutCloseNotifyIsPeerClosed) {
  auto legs = connect({"www.example.test", {}, ""}, "");
  ASSERT_TRUE(legs.server->handshake_done());
  legs.server->feed_eof();
  std::vector<std::uint8_t> none;
  EXPECT_EQ(legs.server->read(none), Progress::kFailed);
  EXPECT_EQ(legs.server->failure().kind, TlsFailure::Kind::kPeerClosed);
}

TEST_F(TlsEndpointTest, GarbageIsAProtocolErrorNotACrash) {
  auto server = must(TlsEndpoint::create(server_ctx.get(), Role::kServer));
  ASSERT_TRUE(
      configure_client_leg(*server, {pki.leaf.cert.get(), pki.leaf.key.get(), nullptr, "", {}})
          .ok());
  const std::string junk = "SSH-2.0-OpenSSH_9.2\r\n";
  server->feed({reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()});
  EXPECT_EQ(server->handshake(), Progress::kFailed);
  EXPECT_NE(server->failure().kind, TlsFailure::Kind::kNone);
  EXPECT_FALSE(server->failure().reason.empty());
  std::vector<std::uint8_t> none;
  EXPECT_EQ(server->read(none), Progress::kFailed);
  EXPECT_FALSE(server->write(std::vector<std::uint8_t>{1}).ok());
}

TEST_F(TlsEndpointTest, KeyLogHasBothLegsAndIsPrivate) {
  const std::string path = pki.dir + "/keys.log";
  auto log = KeyLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message();
  upstream_ctx = must(make_upstream_ctx({.trust_store = pki.ca_file, .keylog = *log}));
  server_ctx = must(make_client_leg_ctx({.keylog = *log}));
  auto legs = connect({"www.example.test", {}, ""}, "", TLS1_3_VERSION);
  ASSERT_TRUE(legs.server->handshake_done());
  auto legs12 = connect({"www.example.test", {}, ""}, "", TLS1_2_VERSION);
  ASSERT_TRUE(legs12.server->handshake_done());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto text = test::read_file(path);
  // TLS 1.3: 5 secrets per side, both sides of one connection share the client random.
  std::size_t count = 0;
  for (std::size_t pos = text.find("CLIENT_HANDSHAKE_TRAFFIC_SECRET "); pos != std::string::npos;
       pos = text.find("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", pos + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u);                                         // upstream leg + client leg
  EXPECT_NE(text.find("\nCLIENT_RANDOM "), std::string::npos);  // TLS 1.2
}

TEST(KeyLog, TightensAnExistingWideFile) {
  const auto dir = test::make_temp_dir("keylog");
  const auto path = dir + "/wide.log";
  test::write_text(path, "");
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(KeyLog::open(path).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(KeyLog::open(dir).ok());  // a directory
  std::filesystem::remove_all(dir);
}

TEST(AlpnWire, EncodesAndSkipsBadEntries) {
  EXPECT_EQ(alpn_wire({"h2", "", std::string(256, 'x'), "http/1.1"}),
            (std::vector<std::uint8_t>{2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}));
  EXPECT_EQ(alert_name(48), "unknown_ca");
  EXPECT_EQ(alert_name(200), "alert 200");
}

// Upstream resumption: a session kept for (SNI, destination) is offered to that server only, a
// resumed handshake keeps the original verification verdict and leaf, and the cache is bounded.
TEST_F(TlsEndpointTest, UpstreamSessionsResumeTheSameServerOnly) {
  auto sessions = std::make_shared<UpstreamSessions>(1);
  upstream_ctx =
      must(make_upstream_ctx({.trust_store = pki.ca_file, .upstream_sessions = sessions}));
  SslCtxPtr ticket_ctx(SSL_CTX_new(TLS_server_method()));  // issues TLS 1.3 tickets
  auto run = [&](const std::string& destination) {
    Legs legs{must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient)),
              must(TlsEndpoint::create(ticket_ctx.get(), Role::kServer))};
    EXPECT_TRUE(
        configure_upstream(*legs.client,
                           {"www.example.test", {}, "192.0.2.2", sessions.get(), destination})
            .ok());
    EXPECT_TRUE(
        configure_client_leg(*legs.server,
                             {pki.leaf.cert.get(), pki.leaf.key.get(), pki.ca.cert.get(), "", {}})
            .ok());
    legs.client->handshake();
    pump(*legs.client, *legs.server);
    std::vector<std::uint8_t> none;
    legs.client->read(none);  // takes the server's tickets
    EXPECT_TRUE(legs.client->handshake_done());
    return legs;
  };
  auto first = run("192.0.2.2:443");
  EXPECT_FALSE(first.client->resumed());
  EXPECT_EQ(sessions->size(), 1u);
  first.client.reset();  // gone without close_notify: the kept copy stays resumable
  auto second = run("192.0.2.2:443");
  EXPECT_TRUE(second.client->resumed());
  const auto result = upstream_result(*second.client);
  EXPECT_TRUE(result.verified);  // the original handshake's verdict
  ASSERT_NE(result.leaf, nullptr);
  EXPECT_EQ(X509_cmp(result.leaf, pki.leaf.cert.get()), 0);
  auto other = run("192.0.2.3:443");  // another server: nothing offered
  EXPECT_FALSE(other.client->resumed());
  EXPECT_EQ(sessions->size(), 1u);  // capacity 1: 192.0.2.2's session was evicted
  EXPECT_FALSE(run("192.0.2.2:443").client->resumed());
  EXPECT_EQ(sessions->get("nothing|here:1"), nullptr);
}

}  // namespace
}  // namespace wb::intercept
