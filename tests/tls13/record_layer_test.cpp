// RecordLayer against a second RecordLayer and against records sealed by hand under the same
// keys: framing, padding, alerts, post-handshake messages, limits, sequence numbers, idle memory.
#include <gtest/gtest.h>

#include <malloc.h>

#include "agent/tls13/record_layer.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls13 {
namespace {

using test::Bytes;
using test::Progress;
using Kind = RecordLayer::Failure::Kind;

constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kAppData = 23;

class Tls13RecordLayer : public ::testing::TestWithParam<Suite> {
 protected:
  Suite suite() const { return GetParam(); }
  // What the client writes (seed 1), as the server layer reads it.
  Secret client_secret() const { return test::fixed_secret(suite(), 1); }
  std::unique_ptr<RecordLayer> server(std::uint64_t read_seq = 0) {
    return test::make_layer(test::fixed_handoff(suite(), false, read_seq, 0));
  }
  std::unique_ptr<RecordLayer> client(std::uint64_t read_seq = 0) {
    return test::make_layer(test::fixed_handoff(suite(), true, read_seq, 0));
  }
  // Feeds crafted client records to a server layer and expects it to fail with `alert`.
  void expect_alert_sent(RecordLayer& rl, const Bytes& records, int alert) {
    rl.feed(records);
    Progress last{};
    EXPECT_TRUE(test::read_all(rl, last).empty());
    EXPECT_EQ(last, Progress::kFailed);
    EXPECT_EQ(rl.failure().kind, Kind::kAlertSent);
    EXPECT_EQ(rl.failure().alert, alert) << rl.failure().reason;
    EXPECT_FALSE(rl.output().empty());  // the fatal alert is queued for the peer
    EXPECT_FALSE(rl.write(Bytes{1}).ok());
  }
  Bytes record(std::uint64_t seq, std::uint8_t type, const Bytes& content) {
    return test::seal_typed(suite(), client_secret(), seq, type, content);
  }
};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_P(Tls13RecordLayer, DataBothWaysInRecordsOfAtMost16KiB) {
  auto c = client();
  auto s = server();
  const Bytes up = test::pattern(100000, 3);
  ASSERT_TRUE(c->write(up).ok());
  EXPECT_EQ(c->output().size(), up.size() + 7 * (5 + 17));  // 6 full records + 1 partial
  test::transfer(*c, *s);
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last, 1000), up);  // small reads go through the pending buffer
  EXPECT_EQ(last, Progress::kWantMore);
  const Bytes down = test::pattern(40000, 4);
  ASSERT_TRUE(s->write(down).ok());
  ASSERT_TRUE(s->write({}).ok());  // nothing to send, nothing sent
  test::transfer(*s, *c);
  EXPECT_EQ(test::read_all(*c, last, 1 << 16), down);
  EXPECT_EQ(c->write_seq(), 7u);
  EXPECT_EQ(s->read_seq(), 7u);
  EXPECT_EQ(c->key_updates() + s->key_updates(), 0u);
}

TEST_P(Tls13RecordLayer, PaddingIsStrippedAndEmptyApplicationDataSkipped) {
  auto s = server();
  Bytes inner = {'h', 'i', kAppData};
  inner.resize(200, 0);
  s->feed(cat({record(0, kAppData, {}), test::seal_inner(suite(), client_secret(), 1, inner),
               record(2, kAppData, {'!'})}));
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last), (Bytes{'h', 'i', '!'}));
  EXPECT_EQ(last, Progress::kWantMore);
}

TEST_P(Tls13RecordLayer, InnerPlaintextRules) {
  Bytes zeros(40, 0);
  expect_alert_sent(*server(), test::seal_inner(suite(), client_secret(), 0, zeros), 10);
  Bytes big(16385, 'x');
  expect_alert_sent(*server(), record(0, kAppData, big), 22);
  Bytes max(16384, 'x');
  auto s = server();
  s->feed(record(0, kAppData, max));
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last).size(), max.size());
  expect_alert_sent(*server(), record(0, 20, {1}), 10);         // change_cipher_spec inside
  expect_alert_sent(*server(), record(0, 24, {1}), 10);         // unknown inner type
  expect_alert_sent(*server(), record(0, kHandshake, {}), 10);  // empty handshake fragment
}

TEST_P(Tls13RecordLayer, OuterHeaderRules) {
  expect_alert_sent(*server(), Bytes{20, 3, 3, 0, 1, 1}, 10);           // CCS after the handshake
  expect_alert_sent(*server(), Bytes{22, 3, 3, 0, 4, 1, 2, 3, 4}, 10);  // plaintext handshake
  expect_alert_sent(*server(), Bytes{23, 3, 3, 0x41, 0x01}, 22);        // 2^14 + 257: at once
  Bytes max = {23, 3, 3, 0x41, 0x00};
  max.resize(5 + 0x4100, 0xab);
  expect_alert_sent(*server(), max, 20);  // the largest legal length, garbage inside
  expect_alert_sent(*server(),
                    Bytes{23, 3, 3, 0, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                    20);  // shorter than a tag
  Bytes good = record(0, kAppData, {1, 2, 3});
  good[2] = 1;  // legacy_record_version is in the additional data
  expect_alert_sent(*server(), good, 20);
}

TEST_P(Tls13RecordLayer, AlertsFromThePeer) {
  {
    auto s = server();
    s->feed(cat({record(0, kAppData, {'a'}), record(1, kAlert, {1, 90}), record(2, kAppData, {'b'}),
                 record(3, kAlert, {1, 0}), record(4, kAppData, {'c'})}));
    Progress last{};
    EXPECT_EQ(test::read_all(*s, last), (Bytes{'a', 'b'}));  // user_canceled ignored
    EXPECT_EQ(last, Progress::kClosed);
    s->feed_eof();
    std::size_t got = 0;
    Bytes buf(10);
    EXPECT_EQ(s->read_into(buf, got), Progress::kClosed);
    EXPECT_TRUE(s->output().empty());
    s->shutdown();
    EXPECT_FALSE(s->output().empty());  // our close_notify still goes out
  }
  {
    auto s = server();
    s->feed(cat({record(0, kAppData, {'a'}), record(1, kAlert, {2, 40})}));
    Progress last{};
    EXPECT_EQ(test::read_all(*s, last), (Bytes{'a'}));
    EXPECT_EQ(last, Progress::kFailed);
    EXPECT_EQ(s->failure().kind, Kind::kAlertReceived);
    EXPECT_EQ(s->failure().alert, 40);
    EXPECT_EQ(s->failure().reason, "alert handshake_failure received");
    EXPECT_TRUE(s->output().empty());
  }
  expect_alert_sent(*server(), record(0, kAlert, {1}), 50);
  expect_alert_sent(*server(), record(0, kAlert, {1, 0, 1, 0}), 50);
}

TEST_P(Tls13RecordLayer, EofWithoutCloseNotify) {
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{20}}) {
    auto s = server();
    Bytes r = cat({record(0, kAppData, {'a'}), record(1, kAppData, {'b', 'c'})});
    r.resize(r.size() - cut);
    s->feed(r);
    s->feed_eof();
    Progress last{};
    EXPECT_EQ(test::read_all(*s, last), cut == 0 ? (Bytes{'a', 'b', 'c'}) : (Bytes{'a'}));
    EXPECT_EQ(last, Progress::kFailed);
    EXPECT_EQ(s->failure().kind, Kind::kPeerClosed);
    EXPECT_TRUE(s->output().empty());
  }
}

TEST_P(Tls13RecordLayer, TicketsAreDiscardedByAClientWhereverTheyAreSplit) {
  const Secret server_secret = test::fixed_secret(suite(), 2);
  Bytes nst = {4, 0, 0, 20};
  nst.resize(24, 0x5a);
  const Bytes two = cat({nst, nst});
  // Two tickets in one record, then one ticket across three records, then data.
  Bytes stream = test::seal_typed(suite(), server_secret, 0, kHandshake, two);
  stream = cat(
      {stream,
       test::seal_typed(suite(), server_secret, 1, kHandshake, Bytes(nst.begin(), nst.begin() + 2)),
       test::seal_typed(suite(), server_secret, 2, kHandshake,
                        Bytes(nst.begin() + 2, nst.begin() + 10)),
       test::seal_typed(suite(), server_secret, 3, kHandshake, Bytes(nst.begin() + 10, nst.end())),
       test::seal_typed(suite(), server_secret, 4, kAppData, {'o', 'k'})});
  auto c = client();
  c->feed(stream);
  Progress last{};
  EXPECT_EQ(test::read_all(*c, last), (Bytes{'o', 'k'}));
  EXPECT_EQ(last, Progress::kWantMore);
  // Data interleaved with a split ticket is refused.
  auto c2 = client();
  c2->feed(cat(
      {test::seal_typed(suite(), server_secret, 0, kHandshake, Bytes(nst.begin(), nst.begin() + 5)),
       test::seal_typed(suite(), server_secret, 1, kAppData, {'x'})}));
  EXPECT_TRUE(test::read_all(*c2, last).empty());
  EXPECT_EQ(c2->failure().alert, 10);
  // A message longer than the largest legal ticket (131,338 bytes) is refused from its header.
  auto c3 = client();
  c3->feed(test::seal_typed(suite(), server_secret, 0, kHandshake, {4, 2, 2, 0}));
  EXPECT_TRUE(test::read_all(*c3, last).empty());
  EXPECT_EQ(c3->failure().alert, 47);
  // A legal ticket of 100,000 bytes across seven records is read and dropped.
  {
    Bytes big = {4, 0x01, 0x86, 0xa0};  // NewSessionTicket, length 100,000
    big.resize(4 + 100000, 0x5a);
    auto c5 = client();
    std::uint64_t seq = 0;
    for (std::size_t at = 0; at < big.size(); at += 16384) {
      const std::size_t n = std::min<std::size_t>(16384, big.size() - at);
      c5->feed(test::seal_typed(suite(), server_secret, seq++, kHandshake,
                                Bytes(big.begin() + static_cast<std::ptrdiff_t>(at),
                                      big.begin() + static_cast<std::ptrdiff_t>(at + n))));
    }
    c5->feed(test::seal_typed(suite(), server_secret, seq, kAppData, {'o', 'k'}));
    EXPECT_EQ(test::read_all(*c5, last), (Bytes{'o', 'k'}));
    EXPECT_EQ(c5->failure().kind, RecordLayer::Failure::Kind::kNone);
  }
  // A post-handshake CertificateRequest (we never offer post_handshake_auth).
  auto c4 = client();
  c4->feed(test::seal_typed(suite(), server_secret, 0, kHandshake, {13, 0, 0, 1, 0}));
  EXPECT_TRUE(test::read_all(*c4, last).empty());
  EXPECT_EQ(c4->failure().alert, 10);
}

TEST_P(Tls13RecordLayer, KeyUpdateFromThePeer) {
  auto c = client();
  auto s = server();
  // KeyUpdate(update_requested) from the client: the server updates its read key and answers
  // with its own KeyUpdate before its next data.
  s->feed(record(0, kHandshake, {24, 0, 0, 1, 1}));
  Progress last{};
  EXPECT_TRUE(test::read_all(*s, last).empty());
  EXPECT_EQ(last, Progress::kWantMore);
  EXPECT_EQ(s->key_updates(), 2u);
  EXPECT_EQ(s->read_seq(), 0u);
  ASSERT_TRUE(s->write(Bytes{'n', 'e', 'w'}).ok());
  test::transfer(*s, *c);
  EXPECT_EQ(test::read_all(*c, last), (Bytes{'n', 'e', 'w'}));
  EXPECT_EQ(c->key_updates(), 1u);  // update_not_requested: no answer
  EXPECT_TRUE(c->output().empty());
  // The old client key no longer opens anything.
  s->feed(record(1, kAppData, {'x'}));
  EXPECT_TRUE(test::read_all(*s, last).empty());
  EXPECT_EQ(s->failure().alert, 20);
}

TEST_P(Tls13RecordLayer, MalformedKeyUpdates) {
  expect_alert_sent(*server(), record(0, kHandshake, {24, 0, 0, 1, 0, 4, 0, 0, 0}), 10);
  expect_alert_sent(*server(), record(0, kHandshake, {24, 0, 0, 2, 0, 0}), 50);
  expect_alert_sent(*server(), record(0, kHandshake, {24, 0, 0, 0}), 50);
  expect_alert_sent(*server(), record(0, kHandshake, {24, 0, 0, 1, 2}), 47);
  // A KeyUpdate split across records, i.e. not ending at... its own record: still one message
  // that ends a record, so it is accepted.
  auto s = server();
  s->feed(cat({record(0, kHandshake, {24, 0}), record(1, kHandshake, {0, 1, 0}),
               test::seal_typed(suite(), *next_traffic_secret(suite(), client_secret()), 0,
                                kAppData, {'k'})}));
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last), (Bytes{'k'}));
  EXPECT_EQ(s->key_updates(), 1u);
}

TEST_P(Tls13RecordLayer, OwnKeyUpdateBeforeTheKeyWearsOut) {
  auto c = test::make_layer(test::fixed_handoff(suite(), true, 0, 0), {.key_update_after = 3});
  auto s = server();
  Bytes sent;
  for (int i = 0; i < 10; ++i) {
    const Bytes piece = test::pattern(100 + i, i);
    sent.insert(sent.end(), piece.begin(), piece.end());
    ASSERT_TRUE(c->write(piece).ok());
  }
  EXPECT_EQ(c->key_updates(), 3u);
  EXPECT_EQ(c->write_seq(), 1u);
  test::transfer(*c, *s);
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last), sent);
  EXPECT_EQ(s->key_updates(), 3u);
  EXPECT_TRUE(s->output().empty());
}

TEST_P(Tls13RecordLayer, SequenceNumbersNeverWrap) {
  // Write side: a handoff near 2^64 updates the key before the next record.
  auto c = test::make_layer(test::fixed_handoff(suite(), true, 0, UINT64_MAX - 1));
  ASSERT_TRUE(c->write(Bytes{1}).ok());
  EXPECT_EQ(c->key_updates(), 1u);
  EXPECT_EQ(c->write_seq(), 1u);
  // A handoff at 2^64 - 1 cannot even send the KeyUpdate: the write fails, nothing loops.
  auto worn = test::make_layer(test::fixed_handoff(suite(), true, 0, UINT64_MAX));
  EXPECT_FALSE(worn->write(Bytes{1}).ok());
  EXPECT_EQ(worn->failure().alert, 80);
  EXPECT_EQ(worn->failure().reason.rfind("alert internal_error not sent", 0), 0u);
  EXPECT_TRUE(worn->output().empty());
  // Read side: the record at 2^64 - 1 would need a nonce the sequence cannot advance past.
  auto s = server(UINT64_MAX);
  expect_alert_sent(*s, record(UINT64_MAX, kAppData, {1}), 80);
}

TEST_P(Tls13RecordLayer, ShutdownIsIdempotentAndEndsWrites) {
  auto c = client();
  auto s = server();
  ASSERT_TRUE(c->write(Bytes{'b', 'y', 'e'}).ok());
  c->shutdown();
  const std::size_t queued = c->output().size();
  c->shutdown();
  EXPECT_EQ(c->output().size(), queued);
  EXPECT_FALSE(c->write(Bytes{'x'}).ok());
  test::transfer(*c, *s);
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last), (Bytes{'b', 'y', 'e'}));
  EXPECT_EQ(last, Progress::kClosed);
}

TEST_P(Tls13RecordLayer, EveryTruncationPointWantsMoreAndResumes) {
  auto c = client();
  const Bytes data = test::pattern(3000, 9);
  ASSERT_TRUE(c->write(std::span(data).first(1000)).ok());
  ASSERT_TRUE(c->write(std::span(data).subspan(1000)).ok());
  c->shutdown();
  const Bytes stream(c->output().begin(), c->output().end());
  for (std::size_t n = 0; n <= stream.size(); ++n) {
    auto s = server();
    s->feed(std::span(stream).first(n));
    Progress last{};
    Bytes got = test::read_all(*s, last, 512);
    ASSERT_EQ(last, n == stream.size() ? Progress::kClosed : Progress::kWantMore) << n;
    s->feed(std::span(stream).subspan(n));
    const Bytes rest = test::read_all(*s, last, 512);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got, data) << n;
    ASSERT_EQ(last, Progress::kClosed) << n;
  }
}

TEST_P(Tls13RecordLayer, ByteByByte) {
  auto c = client();
  auto s = server();
  const Bytes data = test::pattern(5000, 5);
  ASSERT_TRUE(c->write(data).ok());
  const Bytes stream(c->output().begin(), c->output().end());
  Bytes got;
  Bytes buf(100);
  for (std::uint8_t b : stream) {
    s->feed(std::span(&b, 1));
    std::size_t n = 0;
    while (s->read_into(buf, n) == Progress::kDone)
      got.insert(got.end(), buf.begin(), buf.begin() + n);
  }
  EXPECT_EQ(got, data);
}

TEST_P(Tls13RecordLayer, ReleaseBuffersGivesBackEverythingGrown) {
  auto c = client();
  auto s = server();
  ASSERT_TRUE(c->write(test::pattern(70000)).ok());
  test::transfer(*c, *s);
  Progress last{};
  EXPECT_EQ(test::read_all(*s, last, 700).size(), 70000u);
  EXPECT_GT(s->buffer_capacity(), 16384u);
  EXPECT_TRUE(s->holds_cipher_contexts());
  s->release_buffers();
  c->release_buffers();
  EXPECT_EQ(s->buffer_capacity(), 0u);
  EXPECT_EQ(c->buffer_capacity(), 0u);
  EXPECT_FALSE(s->holds_cipher_contexts());
  EXPECT_FALSE(c->holds_cipher_contexts());
  // Still works after the release, and a half-received record survives it.
  ASSERT_TRUE(c->write(Bytes{'z', 'z'}).ok());
  const Bytes out(c->output().begin(), c->output().end());
  s->feed(std::span(out).first(10));
  s->release_buffers();
  EXPECT_GT(s->buffer_capacity(), 0u);
  s->feed(std::span(out).subspan(10));
  EXPECT_EQ(test::read_all(*s, last), (Bytes{'z', 'z'}));
}

// Many layers so that glibc's per-thread caches do not hide the per-layer cost in mallinfo2.
TEST_P(Tls13RecordLayer, IdleFootprint) {
  constexpr std::size_t kPairs = 200;
  std::vector<std::unique_ptr<RecordLayer>> layers;
  layers.reserve(2 * kPairs);
  const auto before = mallinfo2().uordblks;
  for (std::size_t i = 0; i < kPairs; ++i) {
    layers.push_back(client());
    layers.push_back(server());
    auto& c = *layers[layers.size() - 2];
    auto& s = *layers.back();
    ASSERT_NO_FATAL_FAILURE(test::ping_pong(c, s));
  }
  const auto active = mallinfo2().uordblks;
  for (auto& l : layers) l->release_buffers();
  const auto idle = mallinfo2().uordblks;
  const std::size_t n = layers.size();
  std::printf("sizeof(RecordLayer) = %zu bytes; heap per layer: %zu after a ping-pong, %zu idle\n",
              sizeof(RecordLayer), static_cast<std::size_t>(active - before) / n,
              static_cast<std::size_t>(idle - before) / n);
  for (auto& l : layers) EXPECT_EQ(l->buffer_capacity(), 0u);
  EXPECT_LE(sizeof(RecordLayer), 512u);
  if (active != before) {  // sanitizer builds replace glibc's malloc: mallinfo2 says nothing
    EXPECT_LE((idle - before) / n, sizeof(RecordLayer) + 32);  // the object and malloc's header
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls13RecordLayer,
                         ::testing::Values(Suite::kAes128GcmSha256, Suite::kAes256GcmSha384,
                                           Suite::kChacha20Poly1305Sha256),
                         [](const auto& info) {
                           switch (info.param) {
                             case Suite::kAes128GcmSha256:
                               return std::string("Aes128Gcm");
                             case Suite::kAes256GcmSha384:
                               return std::string("Aes256Gcm");
                             default:
                               return std::string("Chacha20Poly1305");
                           }
                         });

}  // namespace
}  // namespace wb::tls13
