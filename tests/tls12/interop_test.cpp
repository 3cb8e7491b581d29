// tls12::RecordLayer standing in for one side of a real OpenSSL TLS 1.2 connection (each role,
// AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 with ECDSA, plus ECDHE-RSA and RSA key exchange):
// master secret and randoms from the SSL session, sequence numbers counted with the message
// callback, then data, close_notify, renegotiation attempts and broken input against OpenSSL.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <malloc.h>

#include <functional>
#include <tuple>

#include "agent/tls12/record_layer.h"
#include "tests/tls12/openssl_pair12.h"
#include "tests/tls12/tls12_test_util.h"
#include "tests/tls13/interop_fixture.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls12 {
namespace {

using test::Bytes;
using Progress = RecordLayer::Progress;

struct SuiteCase {
  const char* cipher_list;
  std::uint16_t id;
  test::ServerKey key;
};
constexpr SuiteCase kSuites[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, test::ServerKey::kEcdsa},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, test::ServerKey::kEcdsa},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, test::ServerKey::kEcdsa},
    {"ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, test::ServerKey::kRsa},
    {"AES256-GCM-SHA384", 0x009D, test::ServerKey::kRsa},  // RSA key exchange
};

class Tls12Interop : public test::InteropFixture<test::Tls12Pair, RecordLayer> {
 protected:
  const SuiteCase& suite() const { return kSuites[std::get<0>(GetParam())]; }

  void start(const std::function<void(test::Tls12Pair&)>& before = {}) {
    pair_ = std::make_unique<test::Tls12Pair>(suite().cipher_list, suite().key);
    ASSERT_TRUE(pair_->handshake());
    if (before) before(*pair_);
    auto h = pair_->handoff(ours_client());
    ASSERT_TRUE(h.has_value());
    ASSERT_EQ(h->cipher_suite, suite().id);
    handoff_ = *h;
    ours_ = test::make_layer12(*h);
    ASSERT_NE(ours_, nullptr);
  }
  // We fail with `alert` on our next input and the OpenSSL peer receives it (fatal).
  void expect_alert_exchange(int alert) {
    EXPECT_TRUE(ours_read(Progress::kFailed).empty());
    EXPECT_EQ(ours_->failure().kind, RecordLayer::Failure::Kind::kAlertSent);
    EXPECT_EQ(ours_->failure().alert, alert) << ours_->failure().reason;
    to_peer();
    peer_read(SSL_ERROR_SSL);
    EXPECT_EQ(pair_->alert_received(peer()), alert);
    EXPECT_EQ(pair_->alert_level_received(peer()), 2);
  }
  // What the OpenSSL peer sends: two data records and close_notify; `data` gets the plaintext.
  Bytes peer_stream(Bytes& data) {
    data = test::pattern(120, 50);
    const Bytes b = test::pattern(33, 51);
    EXPECT_TRUE(pair_->write(peer(), data));
    EXPECT_TRUE(pair_->write(peer(), b));
    EXPECT_GE(SSL_shutdown(pair_->ssl(peer())), 0);
    data.insert(data.end(), b.begin(), b.end());
    return pair_->take_output(peer());
  }

  Handoff handoff_{};
};

// Renegotiation involves one role each: only a server sends HelloRequest, only a client
// ClientHello.
class Tls12InteropOursClient : public Tls12Interop {};
class Tls12InteropOursServer : public Tls12Interop {};

TEST_P(Tls12Interop, SwitchRightAfterTheHandshake) {
  start();
  // Each side's Finished was the first record after its ChangeCipherSpec: seq 0.
  EXPECT_EQ(handoff_.read_seq, 1u);
  EXPECT_EQ(handoff_.write_seq, 1u);
  expect_data_both_ways(1);
  expect_data_both_ways(3);
  EXPECT_EQ(ours_->write_seq(), 3u);
  EXPECT_EQ(ours_->read_seq(), 3u);
}

// The seq is authenticated: off by one (counting from 0 after the Finished) breaks the record.
TEST_P(Tls12Interop, ReadSeqOffByOneIsBadRecordMac) {
  start();
  handoff_.read_seq = 0;
  ours_ = test::make_layer12(handoff_);
  ASSERT_TRUE(pair_->write(peer(), test::pattern(10)));
  to_ours();
  expect_alert_exchange(20);
}

// A resumed session: the master secret comes from the session, the order of the Finished
// messages is reversed, and the seqs are again 1.
TEST_P(Tls12Interop, ResumedSession) {
  start([](test::Tls12Pair& p) { ASSERT_TRUE(p.resume()); });
  EXPECT_EQ(handoff_.read_seq, 1u);
  EXPECT_EQ(handoff_.write_seq, 1u);
  expect_data_both_ways(31);
}

TEST_P(Tls12Interop, RecordsThroughOpensslBeforeTheSwitch) {
  start([](test::Tls12Pair& p) {
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(p.write(true, test::pattern(100, i)));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.write(false, test::pattern(100, i)));
    p.flush(true);
    p.flush(false);
    int error = 0;
    EXPECT_EQ(p.read(true, error).size(), 500u);
    EXPECT_EQ(p.read(false, error).size(), 200u);
  });
  EXPECT_EQ(handoff_.read_seq, ours_client() ? 6u : 3u);
  EXPECT_EQ(handoff_.write_seq, ours_client() ? 3u : 6u);
  expect_data_both_ways(11);
}

TEST_P(Tls12Interop, OneMebibyteEachWay) {
  start();
  const Bytes up = test::pattern(1 << 20, 7);
  ASSERT_TRUE(ours_->write(up).ok());
  EXPECT_EQ(ours_->write_seq(), 1u + 64u);
  to_peer();
  EXPECT_EQ(peer_read(), up);
  const Bytes down = test::pattern(1 << 20, 8);
  ASSERT_TRUE(pair_->write(peer(), down));
  to_ours();
  EXPECT_EQ(ours_read(Progress::kWantMore, 1000), down);
}

TEST_P(Tls12Interop, CloseNotifyFromThePeer) {
  start();
  Bytes data;
  ours_->feed(peer_stream(data));
  EXPECT_EQ(ours_read(Progress::kClosed), data);
  ours_->shutdown();
  to_peer();
  peer_read(SSL_ERROR_ZERO_RETURN);
}

TEST_P(Tls12Interop, CloseNotifyFromUs) {
  start();
  ASSERT_TRUE(ours_->write(test::pattern(5)).ok());
  ours_->shutdown();
  ours_->shutdown();  // idempotent
  EXPECT_FALSE(ours_->write(test::pattern(5)).ok());
  to_peer();
  EXPECT_EQ(peer_read(SSL_ERROR_ZERO_RETURN), test::pattern(5));
  // The peer answers with its own close_notify.
  EXPECT_EQ(SSL_shutdown(pair_->ssl(peer())), 1);
  to_ours();
  ours_read(Progress::kClosed);
}

TEST_P(Tls12Interop, FlippedBitIsBadRecordMac) {
  start();
  ASSERT_TRUE(pair_->write(peer(), test::pattern(64)));
  Bytes record = pair_->take_output(peer());
  record[record.size() - 20] ^= 0x01;
  ours_->feed(record);
  expect_alert_exchange(20);
}

TEST_P(Tls12Interop, ChangeCipherSpecAfterTheHandshake) {
  start();
  ours_->feed(Bytes{20, 3, 3, 0, 1, 1});
  expect_alert_exchange(10);
}

TEST_P(Tls12Interop, OversizeRecordRefusedFromItsHeader) {
  start();
  ours_->feed(Bytes{23, 3, 3, 0x48, 0x01});  // 2^14 + 2048 + 1
  expect_alert_exchange(22);
}

// A server that wants to renegotiate sends HelloRequest (SSL_renegotiate on an OpenSSL server
// without SSL_OP_NO_RENEGOTIATION). By default our client ignores it and the OpenSSL server
// carries on under the current keys.
TEST_P(Tls12InteropOursClient, HelloRequestIsIgnored) {
  start();
  ASSERT_EQ(SSL_renegotiate(pair_->ssl(false)), 1);
  SSL_do_handshake(pair_->ssl(false));
  to_ours();
  EXPECT_TRUE(ours_read().empty());
  EXPECT_EQ(ours_->hello_requests(), 1u);
  EXPECT_TRUE(ours_->output().empty());
  expect_data_both_ways(21);
  expect_data_both_ways(23);
}

// Declining with a warning no_renegotiation (RFC 5246 7.4.1.1) is what the brief asked for, but
// an OpenSSL server answers that warning with a fatal handshake_failure: shown here, because it
// is why kIgnore is the default.
TEST_P(Tls12InteropOursClient, HelloRequestDeclinedOpensslServerAborts) {
  start();
  ours_ = test::make_layer12(handoff_, {HelloRequestPolicy::kDecline});
  ASSERT_EQ(SSL_renegotiate(pair_->ssl(false)), 1);
  SSL_do_handshake(pair_->ssl(false));
  to_ours();
  EXPECT_TRUE(ours_read().empty());
  EXPECT_EQ(ours_->hello_requests(), 1u);
  to_peer();
  peer_read(SSL_ERROR_SSL);
  EXPECT_EQ(pair_->alert_received(false), 100);
  EXPECT_EQ(pair_->alert_level_received(false), 1);
  to_ours();
  EXPECT_TRUE(ours_read(Progress::kFailed).empty());
  EXPECT_EQ(ours_->failure().kind, RecordLayer::Failure::Kind::kAlertReceived);
  EXPECT_EQ(ours_->failure().alert, 40);
}

// Renegotiation attempted by an OpenSSL client against our server side ends the connection.
TEST_P(Tls12InteropOursServer, ClientRenegotiationIsRefused) {
  start();
  ASSERT_EQ(SSL_renegotiate(pair_->ssl(true)), 1);
  EXPECT_EQ(SSL_do_handshake(pair_->ssl(true)), -1);
  to_ours();
  expect_alert_exchange(40);
}

TEST_P(Tls12Interop, EveryTruncationPoint) {
  start();
  Bytes data;
  const Bytes stream = peer_stream(data);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    SCOPED_TRACE(cut);
    auto layer = test::make_layer12(handoff_);
    Progress last{};
    layer->feed(std::span(stream).first(cut));
    Bytes got = test::read_all(*layer, last);
    if (cut < stream.size()) {
      EXPECT_EQ(last, Progress::kWantMore) << layer->failure().reason;
      // A FIN at this point: what was complete was delivered, then the truncation is reported.
      auto truncated = test::make_layer12(handoff_);
      truncated->feed(std::span(stream).first(cut));
      truncated->feed_eof();
      Progress end{};
      const Bytes part = test::read_all(*truncated, end);
      EXPECT_EQ(end, Progress::kFailed);
      EXPECT_EQ(truncated->failure().kind, RecordLayer::Failure::Kind::kPeerClosed);
      EXPECT_TRUE(std::equal(part.begin(), part.end(), data.begin()));
    }
    layer->feed(std::span(stream).subspan(cut));
    const Bytes rest = test::read_all(*layer, last);
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(last, Progress::kClosed) << layer->failure().reason;
    EXPECT_EQ(got, data);
  }
}

TEST_P(Tls12Interop, ByteByByte) {
  start();
  Bytes data;
  const Bytes stream = peer_stream(data);
  Bytes got;
  Progress last{};
  for (const std::uint8_t b : stream) {
    ours_->feed(Bytes{b});
    const Bytes part = test::read_all(*ours_, last, 7);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(last, Progress::kClosed) << ours_->failure().reason;
  EXPECT_EQ(got, data);
}

// What a compaction frees: heap of an idle OpenSSL TLS 1.2 SSL object (buffers already freed
// with SSL_free_buffers) against the tls12::RecordLayer that replaces it, released when idle.
// Printed, not asserted beyond "smaller": the numbers go to the report.
TEST(Tls12Footprint, IdleSslVersusRecordLayer) {
  constexpr int kPairs = 40;
  std::vector<std::unique_ptr<test::Tls12Pair>> pairs;
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(std::make_unique<test::Tls12Pair>(kSuites[0].cipher_list, kSuites[0].key));
    ASSERT_TRUE(pairs.back()->handshake());
    ASSERT_TRUE(pairs.back()->write(false, test::pattern(100)));
    pairs.back()->flush(false);
    int error = 0;
    EXPECT_EQ(pairs.back()->read(true, error).size(), 100u);
    for (bool client : {true, false}) EXPECT_EQ(SSL_free_buffers(pairs.back()->ssl(client)), 1);
  }
  std::vector<std::unique_ptr<RecordLayer>> layers;
  layers.reserve(kPairs);
  const auto with_ssl = mallinfo2().uordblks;
  for (auto& p : pairs) {
    auto h = p->handoff(true);
    ASSERT_TRUE(h.has_value());
    layers.push_back(test::make_layer12(*h));
    layers.back()->release_buffers();
  }
  const auto with_layer = mallinfo2().uordblks;
  for (auto& l : layers) {
    EXPECT_EQ(l->buffer_capacity(), 0u);
    EXPECT_FALSE(l->holds_cipher_contexts());
  }
  if (with_layer == with_ssl) return;  // sanitizer builds replace glibc's malloc
  const long saved = (static_cast<long>(with_ssl) - static_cast<long>(with_layer)) / kPairs;
  std::printf(
      "idle TLS 1.2 client SSL (buffers freed) minus idle tls12::RecordLayer: %ld bytes "
      "per connection side\n",
      saved);
  EXPECT_GT(saved, 0);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<int, bool>>& info) {
  std::string name = kSuites[std::get<0>(info.param)].cipher_list;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name + (std::get<1>(info.param) ? "_OursClient" : "_OursServer");
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls12Interop,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Bool()), case_name);
INSTANTIATE_TEST_SUITE_P(Suites, Tls12InteropOursClient,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Values(true)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Suites, Tls12InteropOursServer,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Values(false)),
                         case_name);

}  // namespace
}  // namespace wb::tls12
