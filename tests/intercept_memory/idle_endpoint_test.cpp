// What a TlsEndpoint holds once its session is idle: no memory BIO at all (they are made again
// by the next byte either way), no OCSP staple after a TLS 1.3 handshake. Two endpoints on the
// real contexts, connected in memory; the test moves ciphertext like the relay does.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "tests/intercept_memory/endpoint_pair.h"

namespace wb::intercept {
namespace {

using namespace test_pair;  // NOLINT(google-build-using-namespace): the fixture's vocabulary
using IdleEndpointTest = EndpointPair;

TEST_F(IdleEndpointTest, IdleEndpointHoldsNoBioAndCarriesOnAfterwards) {
  connect();
  ASSERT_TRUE(client->write(text("GET / HTTP/1.1\r\n\r\n")).ok());
  pump(*client, *server);
  EXPECT_EQ(read_all(*server), "GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(server->write(Bytes(40000, 'x')).ok());
  pump(*client, *server);
  EXPECT_EQ(read_all(*client), std::string(40000, 'x'));
  EXPECT_TRUE(client->holds_bios());
  EXPECT_GT(client->buffer_capacity(), 16u * 1024);  // a BIO keeps its high-water mark

  // Quiet: both give back everything.
  client->release_buffers();
  server->release_buffers();
  EXPECT_FALSE(client->holds_bios());
  EXPECT_FALSE(server->holds_bios());
  EXPECT_EQ(client->buffer_capacity(), 0u);
  EXPECT_TRUE(client->output().empty());
  client->consume_output();          // harmless without a BIO
  client->release_buffers();         // and again
  EXPECT_EQ(read_all(*server), "");  // a read while released: nothing yet, not a failure
  EXPECT_EQ(server->failure().kind, TlsFailure::Kind::kNone);

  // The next bytes either way find fresh BIOs: the session goes on, in both directions.
  ASSERT_TRUE(client->write(text("second request")).ok());
  EXPECT_TRUE(client->holds_bios());
  pump(*client, *server);
  EXPECT_EQ(read_all(*server), "second request");
  server->release_buffers();
  client->release_buffers();
  ASSERT_TRUE(server->write(text("second reply")).ok());
  pump(*client, *server);
  EXPECT_EQ(read_all(*client), "second reply");

  // close_notify after a release is still an orderly end.
  client->release_buffers();
  server->release_buffers();
  server->shutdown();
  pump(*client, *server);
  Bytes none;
  EXPECT_EQ(client->read(none), Progress::kClosed);
}

TEST_F(IdleEndpointTest, KeepsWhatIsNotDrainedYet) {
  connect();
  // Ciphertext not yet taken by the relay stays, and so does the BIO holding it.
  ASSERT_TRUE(server->write(text("unsent")).ok());
  server->release_buffers();
  EXPECT_TRUE(server->holds_bios());
  EXPECT_FALSE(server->output().empty());
  // Ciphertext fed but not yet decrypted stays too.
  client->feed(server->output());
  server->consume_output();
  client->release_buffers();
  EXPECT_TRUE(client->holds_bios());
  EXPECT_EQ(read_all(*client), "unsent");
}

TEST_F(IdleEndpointTest, HandshakeInFlightIsNotReleased) {
  client = must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient));
  ASSERT_TRUE(configure_upstream(*client, {"www.example.test", {}, ""}).ok());
  EXPECT_EQ(client->handshake(), Progress::kWantMore);
  const Bytes hello(client->output().begin(), client->output().end());
  ASSERT_FALSE(hello.empty());
  client->consume_output();
  client->release_buffers();  // mid-handshake: a no-op
  EXPECT_TRUE(client->holds_bios());
}

TEST_F(IdleEndpointTest, EofAfterReleaseIsStillSeen) {
  connect();
  client->release_buffers();
  server->release_buffers();
  // The peer's FIN arrives while the endpoint holds no BIO: the next read sees the end.
  server->feed_eof();
  Bytes none;
  EXPECT_EQ(server->read(none), Progress::kFailed);
  EXPECT_EQ(server->failure().kind, TlsFailure::Kind::kPeerClosed);
  // And the other way round: released after the FIN was fed.
  client->feed_eof();
  client->release_buffers();
  EXPECT_EQ(client->read(none), Progress::kFailed);
  EXPECT_EQ(client->failure().kind, TlsFailure::Kind::kPeerClosed);
}

TEST_F(IdleEndpointTest, StapleIsDroppedOnceTls13HandshakeIsDone) {
  const Bytes staple(1500, 0x30);  // a real staple's size; the client does not parse it here
  connect(staple, true);
  EXPECT_TRUE(server->stapled());
  const unsigned char* resp = nullptr;
  ASSERT_EQ(SSL_get_tlsext_status_ocsp_resp(client->ssl(), &resp),
            static_cast<long>(staple.size()));
  EXPECT_EQ(Bytes(resp, resp + staple.size()), staple);  // the client got it
  EXPECT_TRUE(server->ocsp_staple().empty());            // and the server no longer holds it
  EXPECT_EQ(SSL_get_tlsext_status_ocsp_resp(server->ssl(), &resp), -1);
}

TEST_F(IdleEndpointTest, Tls12KeepsTheStapleForRenegotiation) {
  const Bytes staple(300, 0x30);
  client = must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient));
  server = must(TlsEndpoint::create(server_ctx.get(), Role::kServer));
  ASSERT_TRUE(configure_upstream(*client, {"www.example.test", {}, ""}).ok());
  SSL_set_max_proto_version(client->ssl(), TLS1_2_VERSION);
  SSL_set_tlsext_status_type(client->ssl(), TLSEXT_STATUSTYPE_ocsp);
  ASSERT_TRUE(
      configure_client_leg(*server, {leaf.cert.get(), leaf.key.get(), ca.cert.get(), "", staple})
          .ok());
  client->handshake();
  pump(*client, *server);
  ASSERT_TRUE(server->handshake_done());
  EXPECT_EQ(server->version(), "TLSv1.2");
  EXPECT_TRUE(server->stapled());
  EXPECT_EQ(server->ocsp_staple(), staple);
}

}  // namespace
}  // namespace wb::intercept
