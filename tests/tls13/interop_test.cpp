// RecordLayer standing in for one side of a real OpenSSL TLS 1.3 connection (each role, each
// suite): secrets from OpenSSL's key-log callback, sequence numbers counted on the wire, then
// data, KeyUpdates, tickets, close_notify and broken input against the OpenSSL peer.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <functional>
#include <tuple>

#include "agent/tls13/record_boundaries.h"
#include "agent/tls13/record_layer.h"
#include "tests/tls13/interop_fixture.h"
#include "tests/tls13/openssl_pair.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls13 {
namespace {

using test::Bytes;
using test::Progress;

class Tls13Interop : public test::InteropFixture<test::OpensslPair, RecordLayer> {
 protected:
  static constexpr const char* kNames[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"};
  Suite suite() const { return static_cast<Suite>(std::get<0>(GetParam())); }

  // Handshake with `tickets`, run `before` on the all-OpenSSL pair, then replace our side.
  void start(int tickets = 0, const std::function<void(test::OpensslPair&)>& before = {},
             RecordLayerOptions options = {}) {
    pair_ = std::make_unique<test::OpensslPair>(kNames[std::get<0>(GetParam())], tickets);
    ASSERT_TRUE(pair_->handshake());
    if (before) before(*pair_);
    auto h = pair_->handoff(ours_client());
    ASSERT_TRUE(h.has_value());
    ASSERT_EQ(h->suite, suite());
    handoff_ = *h;
    auto made = RecordLayer::create(*h, options);
    ASSERT_TRUE(made.ok()) << made.error().message();
    ours_ = std::move(*made);
  }
  // Our next input is `bytes`; we must fail with `alert` and the OpenSSL peer must receive it.
  void expect_alert_exchange(const Bytes& bytes, int alert) {
    ours_->feed(bytes);
    EXPECT_TRUE(ours_read(Progress::kFailed).empty());
    EXPECT_EQ(ours_->failure().kind, RecordLayer::Failure::Kind::kAlertSent);
    EXPECT_EQ(ours_->failure().alert, alert);
    to_peer();
    peer_read(SSL_ERROR_SSL);
    EXPECT_EQ(pair_->alert_received(peer()), alert);
  }

  // What the OpenSSL peer sends for: `first` bytes, a KeyUpdate of `type`, `second` bytes, and
  // close_notify when `close`; `data` gets the plaintext.
  Bytes peer_stream(std::size_t first, int type, std::size_t second, bool close, Bytes& data) {
    data = test::pattern(first, 50);
    const Bytes b = test::pattern(second, 51);
    EXPECT_TRUE(pair_->write(peer(), data));
    EXPECT_EQ(SSL_key_update(pair_->ssl(peer()), type), 1);
    EXPECT_TRUE(pair_->write(peer(), b));
    if (close) {
      EXPECT_GE(SSL_shutdown(pair_->ssl(peer())), 0);
    }
    data.insert(data.end(), b.begin(), b.end());
    return pair_->take_output(peer());
  }

  Handoff handoff_{};
};

TEST_P(Tls13Interop, SwitchRightAfterTheHandshake) {
  start();
  EXPECT_EQ(handoff_.read_seq, 0u);
  EXPECT_EQ(handoff_.write_seq, 0u);
  expect_data_both_ways(1);
  expect_data_both_ways(3);
}

TEST_P(Tls13Interop, OneMebibyteEachWay) {
  start();
  const Bytes up = test::pattern(1 << 20, 7);
  ASSERT_TRUE(ours_->write(up).ok());
  RecordBoundaries records;
  records.consume(ours_->output());
  EXPECT_EQ(records.complete(), 64u);
  EXPECT_TRUE(records.at_boundary());
  to_peer();
  EXPECT_EQ(peer_read(), up);
  const Bytes down = test::pattern(1 << 20, 8);
  ASSERT_TRUE(pair_->write(peer(), down));
  to_ours();
  EXPECT_EQ(ours_read(Progress::kWantMore, 1000), down);
}

TEST_P(Tls13Interop, TicketsAndDataBeforeTheSwitchAndATicketAfterIt) {
  start(2, [](test::OpensslPair& p) {
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(p.write(true, test::pattern(100, i)));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.write(false, test::pattern(100, i)));
    p.flush(true);
    p.flush(false);
    int error = 0;
    EXPECT_EQ(p.read(true, error).size(), 300u);
    EXPECT_EQ(p.read(false, error).size(), 200u);
  });
  // 2 tickets + 3 data records from the server, 2 data records from the client.
  EXPECT_EQ(handoff_.read_seq, ours_client() ? 5u : 2u);
  EXPECT_EQ(handoff_.write_seq, ours_client() ? 2u : 5u);
  if (ours_client()) {
    ASSERT_EQ(SSL_new_session_ticket(pair_->ssl(false)), 1);
    ASSERT_EQ(SSL_do_handshake(pair_->ssl(false)), 1);
    to_ours();
    EXPECT_TRUE(ours_read().empty());  // discarded
    EXPECT_EQ(ours_->read_seq(), 6u);
  }
  expect_data_both_ways(11);
}

TEST_P(Tls13Interop, PeerKeyUpdates) {
  start();
  for (int type : {SSL_KEY_UPDATE_REQUESTED, SSL_KEY_UPDATE_NOT_REQUESTED}) {
    const auto before = ours_->key_updates();
    ASSERT_EQ(SSL_key_update(pair_->ssl(peer()), type), 1);
    const Bytes after = test::pattern(500, static_cast<std::uint32_t>(type));
    ASSERT_TRUE(pair_->write(peer(), after));  // KeyUpdate, then the data under the new key
    to_ours();
    EXPECT_EQ(ours_read(), after);
    EXPECT_EQ(ours_->key_updates() - before, type == SSL_KEY_UPDATE_REQUESTED ? 2u : 1u);
    EXPECT_EQ(ours_->read_seq(), 1u);
    expect_data_both_ways(20 + static_cast<std::uint32_t>(type));
  }
}

TEST_P(Tls13Interop, OwnKeyUpdateAtTheLimit) {
  start(0, {}, RecordLayerOptions{.key_update_after = 3});
  Bytes sent;
  for (std::uint32_t i = 0; i < 10; ++i) {
    const Bytes piece = test::pattern(700, i);
    sent.insert(sent.end(), piece.begin(), piece.end());
    ASSERT_TRUE(ours_->write(piece).ok());
  }
  RecordBoundaries records;
  records.consume(ours_->output());
  EXPECT_EQ(records.complete(), 13u);  // 10 data records and 3 KeyUpdates
  EXPECT_EQ(ours_->key_updates(), 3u);
  to_peer();
  EXPECT_EQ(peer_read(), sent);
  expect_data_both_ways(30);
}

TEST_P(Tls13Interop, CloseNotifyFromUs) {
  start();
  ASSERT_TRUE(ours_->write(Bytes{'b', 'y', 'e'}).ok());
  ours_->shutdown();
  to_peer();
  EXPECT_EQ(peer_read(SSL_ERROR_ZERO_RETURN), (Bytes{'b', 'y', 'e'}));
}

TEST_P(Tls13Interop, CloseNotifyFromThePeer) {
  start();
  ASSERT_TRUE(pair_->write(peer(), Bytes{'b', 'y', 'e'}));
  ASSERT_GE(SSL_shutdown(pair_->ssl(peer())), 0);
  to_ours();
  EXPECT_EQ(ours_read(Progress::kClosed), (Bytes{'b', 'y', 'e'}));
  ours_->shutdown();
  to_peer();
  peer_read(SSL_ERROR_ZERO_RETURN);
  EXPECT_EQ(SSL_shutdown(pair_->ssl(peer())), 1);  // both close_notify seen
}

TEST_P(Tls13Interop, FlippedBitIsBadRecordMac) {
  start();
  ASSERT_TRUE(pair_->write(peer(), Bytes(100, 'x')));
  Bytes wire = pair_->take_output(peer());
  wire[40] ^= 0x04;
  expect_alert_exchange(wire, 20);
  EXPECT_FALSE(ours_->write(Bytes{'x'}).ok());
}

TEST_P(Tls13Interop, OversizeRecord) {
  start();
  expect_alert_exchange(Bytes{23, 3, 3, 0x41, 0x01}, 22);
}

TEST_P(Tls13Interop, ChangeCipherSpecAfterTheHandshake) {
  start();
  expect_alert_exchange(Bytes{20, 3, 3, 0, 1, 1}, 10);
}

TEST_P(Tls13Interop, ByteByByteAcrossAKeyUpdate) {
  start();
  Bytes want;
  const Bytes wire = peer_stream(20000, SSL_KEY_UPDATE_REQUESTED, 300, false, want);
  Bytes got;
  Bytes buf(777);
  for (std::uint8_t byte : wire) {
    ours_->feed(std::span(&byte, 1));
    std::size_t n = 0;
    Progress p;
    while ((p = ours_->read_into(buf, n)) == Progress::kDone) {
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    ASSERT_EQ(p, Progress::kWantMore);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(ours_->key_updates(), 2u);
  expect_data_both_ways(42);
}

TEST_P(Tls13Interop, EveryTruncationPointOfARecordStream) {
  start();
  Bytes want;
  const Bytes wire = peer_stream(1500, SSL_KEY_UPDATE_NOT_REQUESTED, 200, true, want);
  for (std::size_t n = 0; n <= wire.size(); ++n) {
    auto made = RecordLayer::create(handoff_);
    ASSERT_TRUE(made.ok());
    RecordLayer& rl = **made;
    rl.feed(std::span(wire).first(n));
    Progress last{};
    Bytes got = test::read_all(rl, last, 512);
    ASSERT_EQ(last, n == wire.size() ? Progress::kClosed : Progress::kWantMore) << n;
    rl.feed(std::span(wire).subspan(n));
    const Bytes rest = test::read_all(rl, last, 512);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(last, Progress::kClosed) << n;
    ASSERT_EQ(got, want) << n;
  }
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<int, bool>>& info) {
  static const char* const kSuites[] = {"Aes128Gcm", "Aes256Gcm", "Chacha20Poly1305"};
  return std::string(kSuites[std::get<0>(info.param)]) +
         (std::get<1>(info.param) ? "_OursClient" : "_OursServer");
}

INSTANTIATE_TEST_SUITE_P(SuitesAndRoles, Tls13Interop,
                         ::testing::Combine(::testing::Values(0, 1, 2), ::testing::Bool()),
                         case_name);

}  // namespace
}  // namespace wb::tls13
