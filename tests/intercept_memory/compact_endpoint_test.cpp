// TlsEndpoint::compact(): a quiet TLS 1.3 endpoint leaves OpenSSL for wirebump's record layer
// (agent/tls13) and frees its SSL object. The peer is always real OpenSSL (the other endpoint,
// still on OpenSSL unless the test compacts it too), so every record the compacted side writes or
// reads is checked by an independent implementation: sequence numbers counted right, keys right,
// KeyUpdate and close_notify understood both ways.
#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/ssl.h>

#include <string_view>

#include "tests/intercept_memory/endpoint_pair.h"

#if defined(__SANITIZE_ADDRESS__)
#define WB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WB_ASAN 1
#endif
#endif
#ifdef WB_ASAN
// From the ASan runtime (sanitizer/allocator_interface.h, which gcc does not ship).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace wb::intercept {
namespace {

using namespace test_pair;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

class CompactEndpointTest : public EndpointPair {
 protected:
  CompactEndpointTest() : EndpointPair(/*compact_idle=*/true) {}

  static void compact_ok(TlsEndpoint& e) {
    std::string_view why;
    ASSERT_TRUE(e.compact(why)) << why;
    EXPECT_TRUE(e.compacted());
    EXPECT_EQ(e.ssl(), nullptr);
  }
  // `from` writes, `to` reads it all.
  void send(TlsEndpoint& from, TlsEndpoint& to, const Bytes& data) {
    ASSERT_TRUE(from.write(data).ok());
    pump(*client, *server);
    Bytes got;
    for (int i = 0; i < 1000 && got.size() < data.size(); ++i) {
      if (to.read(got, data.size() - got.size()) != Progress::kDone) pump(*client, *server);
    }
    EXPECT_EQ(got, data);
  }
  void both_ways(const std::string& tag) {
    send(*client, *server, text("request " + tag));
    send(*server, *client, text("response " + tag));
  }
};

TEST_F(CompactEndpointTest, BothLegsCarryOnAfterCompactionAndCloseCleanly) {
  make();
  handshake({}, "");
  both_ways("before");
  compact_ok(*client);
  compact_ok(*server);
  EXPECT_EQ(client->version(), "TLSv1.3");
  both_ways("after");
  // Large transfers: many full records each way (sequence numbers far from where they started).
  Bytes big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
  send(*server, *client, big);
  send(*client, *server, big);
  // close_notify from each side is an orderly end on the other.
  server->shutdown();
  pump(*client, *server);
  Bytes none;
  EXPECT_EQ(client->read(none), Progress::kClosed);
  client->shutdown();
  pump(*client, *server);
  EXPECT_EQ(server->read(none), Progress::kClosed);
}

TEST_F(CompactEndpointTest, OneCompactedSideTalksToOpenSslInBothRoles) {
  for (const bool compact_client : {true, false}) {
    SCOPED_TRACE(compact_client ? "client role compacted" : "server role compacted");
    connect();
    both_ways("1");
    both_ways("2");  // a few records under OpenSSL first: the counts must carry over
    compact_ok(compact_client ? *client : *server);
    EXPECT_FALSE((compact_client ? server : client)->compacted());
    both_ways("3");
    send(*server, *client, Bytes(100000, 'z'));
    both_ways("4");
  }
}

TEST_F(CompactEndpointTest, KeepsTheNegotiatedAlpn) {
  make();
  const unsigned char protos[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  ASSERT_EQ(SSL_set_alpn_protos(client->ssl(), protos, sizeof protos), 0);
  handshake({}, "http/1.1");
  compact_ok(*client);
  compact_ok(*server);
  EXPECT_EQ(client->alpn(), "http/1.1");
  EXPECT_EQ(server->alpn(), "http/1.1");
  EXPECT_FALSE(client->resumed());
}

TEST_F(CompactEndpointTest, PeerKeyUpdateAfterCompactionIsFollowedAndAnswered) {
  connect();
  compact_ok(*client);
  // OpenSSL's server asks for an update: our client must switch its read keys at the message
  // and answer with its own KeyUpdate before its next data, or the server cannot read it.
  ASSERT_EQ(SSL_key_update(server->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  send(*server, *client, text("after the server's update"));
  send(*client, *server, text("after our answer"));
  ASSERT_EQ(SSL_key_update(server->ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  send(*server, *client, text("second update"));
  send(*client, *server, text("still readable"));

  // And the other role: the client asks the compacted server.
  connect();
  compact_ok(*server);
  ASSERT_EQ(SSL_key_update(client->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  send(*client, *server, text("client updated"));
  send(*server, *client, text("server answered"));
}

TEST_F(CompactEndpointTest, KeyUpdateBeforeCompactionKeepsTheEndpointOnOpenSsl) {
  connect();
  ASSERT_EQ(SSL_key_update(server->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  both_ways("updated");
  std::string_view why;
  EXPECT_FALSE(client->compact(why));
  EXPECT_EQ(why, "keys updated");
  EXPECT_FALSE(server->compact(why));
  EXPECT_EQ(why, "keys updated");
  both_ways("still on OpenSSL");
}

TEST_F(CompactEndpointTest, NotWhileBytesAreInFlightOrUnread) {
  connect();
  ASSERT_TRUE(server->write(text("unsent")).ok());
  std::string_view why;
  EXPECT_FALSE(server->compact(why));  // ciphertext not yet taken
  EXPECT_EQ(why, "bytes in flight");
  client->feed(server->output());
  server->consume_output();
  EXPECT_FALSE(client->compact(why));  // fed, not yet decrypted
  EXPECT_EQ(why, "bytes in flight");
  compact_ok(*server);
  EXPECT_EQ(read_all(*client), "unsent");
  compact_ok(*client);
  both_ways("after");
}

TEST_F(CompactEndpointTest, ServerTicketsBeforeAndAfterTheHandOff) {
  // An upstream that sends session tickets: two with its handshake (application records the
  // client counts), then one more after our client left OpenSSL (read and dropped).
  SSL_CTX_clear_options(server_ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(server_ctx.get(), 2);
  SSL_CTX_set_session_cache_mode(server_ctx.get(), SSL_SESS_CACHE_SERVER);
  connect();
  both_ways("tickets read");
  compact_ok(*client);
  ASSERT_EQ(SSL_new_session_ticket(server->ssl()), 1);
  send(*server, *client, text("data after a late ticket"));
  send(*client, *server, text("and back"));
}

// TLS 1.2 (an SfB or Lync server's only version): AEAD suites move to agent/tls12's layer, the
// record counts taken from each side's ChangeCipherSpec; CBC suites stay on OpenSSL.
TEST_F(CompactEndpointTest, Tls12AeadLegsAreCompactedToo) {
  for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                            "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    SCOPED_TRACE(suite);
    make();
    SSL_set_max_proto_version(client->ssl(), TLS1_2_VERSION);
    ASSERT_EQ(SSL_set_cipher_list(client->ssl(), suite), 1);
    handshake();
    ASSERT_EQ(client->version(), "TLSv1.2");
    both_ways("before");
    compact_ok(*client);
    compact_ok(*server);
    EXPECT_EQ(client->version(), "TLSv1.2");
    both_ways("after");
    send(*server, *client, Bytes(100000, 'q'));
    server->shutdown();
    pump(*client, *server);
    Bytes none;
    EXPECT_EQ(client->read(none), Progress::kClosed);
  }
  // One side compacted against OpenSSL on the other, in both roles.
  for (const bool compact_client : {true, false}) {
    make();
    SSL_set_max_proto_version(client->ssl(), TLS1_2_VERSION);
    handshake();
    both_ways("1");
    compact_ok(compact_client ? *client : *server);
    both_ways("2");
  }
}

TEST_F(CompactEndpointTest, CbcAndUntrackedContextsStayOnOpenSsl) {
  make();
  SSL_set_max_proto_version(client->ssl(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_set_cipher_list(client->ssl(), "ECDHE-ECDSA-AES128-SHA256"), 1);
  handshake();
  std::string_view why;
  EXPECT_FALSE(client->compact(why));
  EXPECT_EQ(why, "cipher suite not supported");
  EXPECT_FALSE(server->compact(why));
  both_ways("CBC");

  SslCtxPtr plain = must(make_upstream_ctx({.trust_store = ca_file}));  // compact_idle off
  auto untracked = must(TlsEndpoint::create(plain.get(), Role::kClient));
  EXPECT_FALSE(untracked->compact(why));
  EXPECT_EQ(why, "context does not track hand-offs");
}

TEST_F(CompactEndpointTest, PeerFinAfterCompactionIsAnUncleanEnd) {
  connect();
  compact_ok(*client);
  client->feed_eof();
  Bytes none;
  EXPECT_EQ(client->read(none), Progress::kFailed);
  EXPECT_EQ(client->failure().kind, TlsFailure::Kind::kPeerClosed);
}

TEST_F(CompactEndpointTest, TamperedRecordAfterCompactionFailsWithAnAlert) {
  connect();
  compact_ok(*client);
  ASSERT_TRUE(server->write(text("genuine")).ok());
  Bytes wire(server->output().begin(), server->output().end());
  server->consume_output();
  wire.back() ^= 0x01;  // the tag
  client->feed(wire);
  Bytes none;
  EXPECT_EQ(client->read(none), Progress::kFailed);
  EXPECT_EQ(client->failure().kind, TlsFailure::Kind::kAlertSent);
  EXPECT_EQ(client->failure().alert, 20);  // bad_record_mac
  // The alert goes to the server, which OpenSSL reads as a fatal alert.
  pump(*client, *server);
  EXPECT_EQ(server->read(none), Progress::kFailed);
  EXPECT_EQ(server->failure().kind, TlsFailure::Kind::kAlertReceived);
}

// What compaction is for: the heap an idle pair keeps (the allocator's count of bytes in use).
TEST_F(CompactEndpointTest, AnIdlePairKeepsAFractionOfItsMemory) {
  constexpr int kPairs = 16;
  std::vector<std::pair<std::unique_ptr<TlsEndpoint>, std::unique_ptr<TlsEndpoint>>> pairs;
  for (int i = 0; i < kPairs; ++i) {
    connect();
    both_ways("warm");
    client->release_buffers();
    server->release_buffers();
    pairs.emplace_back(std::move(client), std::move(server));
  }
  // Bytes the allocator has handed out and not had back (ASan replaces glibc's malloc).
  const auto in_use = [] {
#ifdef WB_ASAN
    return static_cast<long>(__sanitizer_get_current_allocated_bytes());
#else
    return static_cast<long>(mallinfo2().uordblks);
#endif
  };
  const long before = in_use();
  for (auto& [c, s] : pairs) {
    compact_ok(*c);
    compact_ok(*s);
    c->release_buffers();
    s->release_buffers();
  }
  const long saved_per_pair = (before - in_use()) / kPairs;
  RecordProperty("saved_bytes_per_pair", std::to_string(saved_per_pair));
  std::printf("compaction freed %ld bytes per idle pair\n", saved_per_pair);
  EXPECT_GT(saved_per_pair, 20 * 1024);
  // And each pair still works.
  client = std::move(pairs.back().first);
  server = std::move(pairs.back().second);
  both_ways("after");
}

}  // namespace
}  // namespace wb::intercept
