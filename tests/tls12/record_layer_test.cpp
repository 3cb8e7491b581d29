// tls12::RecordLayer against itself and against records sealed under known keys: the TLS 1.2
// PRF vectors, key block layout, the post-handshake rules for alerts and handshake messages
// (including inputs OpenSSL never sends: split HelloRequests, bad alert levels, empty records),
// sequence number exhaustion and the idle footprint.
#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>

#include "agent/tls12/record_layer.h"
#include "agent/tls12/suite.h"
#include "tests/tls12/tls12_test_util.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls12 {
namespace {

using test::Bytes;
using Progress = RecordLayer::Progress;
using Kind = RecordLayer::Failure::Kind;

constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kData = 23;

// The TLS 1.2 PRF vectors posted to the IETF TLS WG list
// (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html), as BearSSL's test_crypto.c
// and others use them.
TEST(Tls12Prf, Sha256Vector) {
  const Bytes secret = test::from_hex("9bbe436ba940f017b17652849a71db35");
  const Bytes seed = test::from_hex("a0ba9f936cda311827a6f796ffd5198c");
  Bytes out(100);
  ASSERT_TRUE(prf("SHA256", secret, "test label", seed, out).ok());
  EXPECT_EQ(out, test::from_hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
                                "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
                                "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                                "87347b66"));
}

TEST(Tls12Prf, Sha384Vector) {
  const Bytes secret = test::from_hex("b80b733d6ceefcdc71566ea48e5567df");
  const Bytes seed = test::from_hex("cd665cf6a8447dd6ff8b27555edb7465");
  Bytes out(148);
  ASSERT_TRUE(prf("SHA384", secret, "test label", seed, out).ok());
  EXPECT_EQ(out, test::from_hex("7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
                                "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
                                "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
                                "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
                                "91c8f3a26854308d5eaa3be85e0990703d73e56f"));
}

// key_block = PRF(master, "key expansion", server_random + client_random), cut in the order of
// RFC 5246 6.3 (no MAC keys for AEAD suites).
TEST(Tls12Prf, KeyBlockLayout) {
  const Handoff h = test::fixed_handoff12(0xC030, true);
  for (const std::uint16_t id : {0xC02F, 0xC030, 0xCCA8}) {
    SCOPED_TRACE(id);
    const SuiteParams suite = *suite_params(id);
    Bytes seed(h.server_random.begin(), h.server_random.end());
    seed.insert(seed.end(), h.client_random.begin(), h.client_random.end());
    Bytes block(2 * (suite.key_len + suite.fixed_iv_len));
    ASSERT_TRUE(prf(suite.prf_digest, h.master_secret, "key expansion", seed, block).ok());
    DirectionKeys c;
    DirectionKeys s;
    ASSERT_TRUE(
        derive_key_block(suite, h.master_secret, h.client_random, h.server_random, c, s).ok());
    const std::size_t k = suite.key_len;
    const std::size_t iv = suite.fixed_iv_len;
    EXPECT_TRUE(std::equal(c.key.begin(), c.key.begin() + k, block.begin()));
    EXPECT_TRUE(std::equal(s.key.begin(), s.key.begin() + k, block.begin() + k));
    EXPECT_TRUE(std::equal(c.iv.begin(), c.iv.begin() + iv, block.begin() + 2 * k));
    EXPECT_TRUE(std::equal(s.iv.begin(), s.iv.begin() + iv, block.begin() + 2 * k + iv));
  }
}

TEST(Tls12Suites, SupportedAreExactlyTheAeadSuites) {
  for (const std::uint16_t id :
       {0xC02B, 0xC02C, 0xC02F, 0xC030, 0x009E, 0x009F, 0x009C, 0x009D, 0xCCA8, 0xCCA9, 0xCCAA}) {
    EXPECT_TRUE(supported_suite(id)) << id;
  }
  // CBC-SHA, CBC-SHA256, TLS 1.3 suites, NULL.
  for (const std::uint16_t id : {0xC013, 0xC027, 0x002F, 0x1301, 0x0000, 0xCCAB, 0xFFFF}) {
    EXPECT_FALSE(supported_suite(id)) << id;
    EXPECT_FALSE(RecordLayer::create(test::fixed_handoff12(id, true)).ok());
  }
}

class Tls12RecordLayer : public ::testing::TestWithParam<std::uint16_t> {
 protected:
  Handoff handoff(bool client, std::uint64_t read_seq = 1, std::uint64_t write_seq = 1) const {
    return test::fixed_handoff12(GetParam(), client, read_seq, write_seq);
  }
  // Our client; the test plays the server with records sealed under the server's key.
  void SetUp() override { ours_ = test::make_layer12(handoff(true)); }
  Bytes from_server(std::uint8_t type, const Bytes& content) {
    return test::seal_record12(handoff(true), false, server_seq_++, type, content);
  }
  Bytes read(Progress expect) {
    Progress last{};
    Bytes got = test::read_all(*ours_, last);
    EXPECT_EQ(last, expect) << ours_->failure().reason;
    return got;
  }
  void expect_failure(Kind kind, int alert) {
    EXPECT_EQ(ours_->failure().kind, kind) << ours_->failure().reason;
    EXPECT_EQ(ours_->failure().alert, alert) << ours_->failure().reason;
  }

  std::unique_ptr<RecordLayer> ours_;
  std::uint64_t server_seq_ = 1;
};

TEST_P(Tls12RecordLayer, TwoLayersTalk) {
  auto server = test::make_layer12(handoff(false));
  const Bytes a = test::pattern(40000, 3);
  ASSERT_TRUE(ours_->write(a).ok());
  test::transfer(*ours_, *server);
  Progress last{};
  EXPECT_EQ(test::read_all(*server, last, 100), a);
  ASSERT_TRUE(server->write(Bytes{}).ok());  // nothing to send
  ASSERT_TRUE(server->write(Bytes{'o', 'k'}).ok());
  server->shutdown();
  test::transfer(*server, *ours_);
  EXPECT_EQ(read(Progress::kClosed), (Bytes{'o', 'k'}));
}

// GCM records carry our seq as the explicit nonce; ChaCha20 records carry no nonce at all.
TEST_P(Tls12RecordLayer, RecordFormatOnTheWire) {
  ours_ = test::make_layer12(handoff(true, 1, 0x0102030405060708));
  ASSERT_TRUE(ours_->write(Bytes{'a', 'b', 'c'}).ok());
  const Bytes wire(ours_->output().begin(), ours_->output().end());
  const bool gcm = suite_params(GetParam())->explicit_nonce_len == 8;
  ASSERT_EQ(wire.size(), 5u + (gcm ? 8u : 0u) + 3u + 16u);
  EXPECT_EQ(Bytes(wire.begin(), wire.begin() + 5),
            (Bytes{23, 3, 3, 0, static_cast<std::uint8_t>(wire.size() - 5)}));
  if (gcm) {
    EXPECT_EQ(Bytes(wire.begin() + 5, wire.begin() + 13), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  }
  EXPECT_EQ(ours_->write_seq(), 0x0102030405060709u);
}

TEST_P(Tls12RecordLayer, WarningAlertsAreIgnoredFatalOnesEndTheConnection) {
  Bytes in = from_server(kData, {'a'});
  for (const std::uint8_t d : {90, 100, 42}) {  // user_canceled, no_renegotiation, bad_certificate
    const Bytes r = from_server(kAlert, {1, d});
    in.insert(in.end(), r.begin(), r.end());
  }
  const Bytes b = from_server(kData, {'b'});
  in.insert(in.end(), b.begin(), b.end());
  const Bytes fatal = from_server(kAlert, {2, 48});
  in.insert(in.end(), fatal.begin(), fatal.end());
  ours_->feed(in);
  EXPECT_EQ(read(Progress::kFailed), (Bytes{'a', 'b'}));
  expect_failure(Kind::kAlertReceived, 48);
  EXPECT_EQ(ours_->failure().reason, "alert unknown_ca received");
  EXPECT_TRUE(ours_->output().empty());  // nothing answers a fatal alert
}

TEST_P(Tls12RecordLayer, MalformedAlerts) {
  const std::pair<Bytes, int> cases[] = {{{1}, 50}, {{1, 0, 0}, 50}, {{3, 0}, 47}, {{}, 10}};
  for (const auto& [content, alert] : cases) {
    SetUp();
    server_seq_ = 1;
    ours_->feed(from_server(kAlert, content));
    read(Progress::kFailed);
    expect_failure(Kind::kAlertSent, alert);
  }
}

TEST_P(Tls12RecordLayer, HelloRequestSplitAcrossRecordsAndTwoInOne) {
  Bytes in = from_server(kHandshake, {0, 0});
  for (const Bytes& part : {Bytes{0, 0}, Bytes{0, 0, 0, 0, 0, 0, 0, 0}}) {
    const Bytes r = from_server(kHandshake, part);
    in.insert(in.end(), r.begin(), r.end());
  }
  const Bytes d = from_server(kData, {'x'});
  in.insert(in.end(), d.begin(), d.end());
  ours_->feed(in);
  EXPECT_EQ(read(Progress::kWantMore), Bytes{'x'});
  EXPECT_EQ(ours_->hello_requests(), 3u);
  EXPECT_TRUE(ours_->output().empty());
  EXPECT_EQ(ours_->read_seq(), 5u);
}

TEST_P(Tls12RecordLayer, HelloRequestDeclinedWithAWarning) {
  ours_ = test::make_layer12(handoff(true), {HelloRequestPolicy::kDecline});
  ours_->feed(from_server(kHandshake, {0, 0, 0, 0}));
  read(Progress::kWantMore);
  auto server = test::make_layer12(handoff(false));
  test::transfer(*ours_, *server);  // the server layer ignores warning alerts
  Progress last{};
  EXPECT_TRUE(test::read_all(*server, last).empty());
  EXPECT_EQ(last, Progress::kWantMore) << server->failure().reason;
  EXPECT_EQ(server->read_seq(), 2u);
}

TEST_P(Tls12RecordLayer, BadHandshakeMessages) {
  const std::pair<Bytes, int> cases[] = {
      {{0, 0, 0, 1, 9}, 50},  // HelloRequest with a body
      {{20, 0, 0, 12}, 10},   // Finished
      {{1, 0, 0, 40}, 10},    // ClientHello sent to a client
  };
  for (const auto& [content, alert] : cases) {
    SetUp();
    server_seq_ = 1;
    ours_->feed(from_server(kHandshake, content));
    read(Progress::kFailed);
    expect_failure(Kind::kAlertSent, alert);
  }
}

TEST_P(Tls12RecordLayer, ServerRoleRefusesHelloRequestAndClientHello) {
  const std::pair<Bytes, int> cases[] = {{{0, 0, 0, 0}, 10}, {{1, 0, 1, 0}, 40}};
  for (const auto& [content, alert] : cases) {
    SetUp();
    auto server = test::make_layer12(handoff(false));
    server->feed(test::seal_record12(handoff(false), true, 1, kHandshake, content));
    Progress last{};
    test::read_all(*server, last);
    EXPECT_EQ(last, Progress::kFailed);
    EXPECT_EQ(server->failure().alert, alert) << server->failure().reason;
    // The fatal alert goes out encrypted; our client side reads it as such.
    ours_->feed(server->output());
    read(Progress::kFailed);
    expect_failure(Kind::kAlertReceived, alert);
  }
}

TEST_P(Tls12RecordLayer, RecordInsideASplitHandshakeMessage) {
  Bytes in = from_server(kHandshake, {0, 0});
  const Bytes d = from_server(kData, {'x'});
  in.insert(in.end(), d.begin(), d.end());
  ours_->feed(in);
  EXPECT_TRUE(read(Progress::kFailed).empty());
  expect_failure(Kind::kAlertSent, 10);
}

TEST_P(Tls12RecordLayer, RecordHeaderChecks) {
  const std::pair<Bytes, int> cases[] = {
      {{24, 3, 3, 0, 20}, 10},       // heartbeat: unknown after the handshake
      {{23, 3, 1, 0, 40}, 70},       // TLS 1.0 version
      {{23, 3, 3, 0x40, 0x19}, 22},  // one byte more than a 2^14 plaintext can make
      {{23, 3, 3, 0, 3}, 20},        // shorter than explicit nonce + tag
  };
  for (const auto& [bytes, alert] : cases) {
    SetUp();
    Bytes in = bytes;
    in.resize(5 + ((std::size_t{bytes[3]} << 8) | bytes[4]) * (alert == 20 ? 1 : 0));
    ours_->feed(in);
    read(Progress::kFailed);
    expect_failure(Kind::kAlertSent, alert);
  }
}

TEST_P(Tls12RecordLayer, WriteSequenceNumberExhausted) {
  ours_ = test::make_layer12(handoff(true, 1, UINT64_MAX - 1));
  ASSERT_TRUE(ours_->write(Bytes{'a'}).ok());
  EXPECT_FALSE(ours_->write(Bytes{'b'}).ok());
  expect_failure(Kind::kAlertSent, 80);
  EXPECT_EQ(ours_->failure().reason,
            "alert internal_error not sent (write sequence number exhausted)");
}

TEST_P(Tls12RecordLayer, ReadSequenceNumberExhausted) {
  ours_ = test::make_layer12(handoff(true, UINT64_MAX, 1));
  server_seq_ = UINT64_MAX;
  ours_->feed(from_server(kData, {'a'}));
  read(Progress::kFailed);
  expect_failure(Kind::kAlertSent, 80);
}

TEST_P(Tls12RecordLayer, PeerFinWithoutCloseNotify) {
  ours_->feed(from_server(kData, {'a'}));
  ours_->feed_eof();
  EXPECT_EQ(read(Progress::kFailed), Bytes{'a'});
  expect_failure(Kind::kPeerClosed, -1);
}

TEST_P(Tls12RecordLayer, SmallReadBufferKeepsTheRestPending) {
  const Bytes data = test::pattern(5000, 9);
  ours_->feed(from_server(kData, data));
  EXPECT_EQ(test::read_all(*ours_, *std::make_unique<Progress>(), 3), data);
}

// Many layers so that glibc's per-thread caches do not hide the per-layer cost in mallinfo2.
TEST_P(Tls12RecordLayer, IdleFootprint) {
  constexpr std::size_t kPairs = 200;
  std::vector<std::unique_ptr<RecordLayer>> layers;
  layers.reserve(2 * kPairs);
  {  // once per process: OpenSSL's fetched ciphers, KDF and per-thread state stay
    auto c = test::make_layer12(handoff(true));
    auto s = test::make_layer12(handoff(false));
    ASSERT_TRUE(c->write(Bytes{'w'}).ok());
    test::transfer(*c, *s);
    ASSERT_TRUE(s->write(Bytes{'w'}).ok());
    test::transfer(*s, *c);
    Progress last{};
    ASSERT_EQ(test::read_all(*s, last).size(), 1u);
    ASSERT_EQ(test::read_all(*c, last).size(), 1u);
  }
  const auto before = mallinfo2().uordblks;
  for (std::size_t i = 0; i < kPairs; ++i) {
    layers.push_back(test::make_layer12(handoff(true)));
    layers.push_back(test::make_layer12(handoff(false)));
    auto& c = *layers[layers.size() - 2];
    auto& s = *layers.back();
    ASSERT_NO_FATAL_FAILURE(test::ping_pong(c, s));
    EXPECT_TRUE(c.holds_cipher_contexts());
  }
  const auto active = mallinfo2().uordblks;
  for (auto& l : layers) l->release_buffers();
  const auto idle = mallinfo2().uordblks;
  const std::size_t n = layers.size();
  std::printf(
      "sizeof(tls12::RecordLayer) = %zu bytes; heap per layer: %zu after a ping-pong, "
      "%zu idle\n",
      sizeof(RecordLayer), static_cast<std::size_t>(active - before) / n,
      static_cast<std::size_t>(idle - before) / n);
  for (auto& l : layers) {
    EXPECT_EQ(l->buffer_capacity(), 0u);
    EXPECT_FALSE(l->holds_cipher_contexts());
  }
  EXPECT_LE(sizeof(RecordLayer), 512u);
  if (active != before) {  // sanitizer builds replace glibc's malloc: mallinfo2 says nothing
    // The object and malloc's header, plus up to ~12 KB of process-wide OpenSSL state that the
    // first test run in a process still makes (spread over the 400 layers).
    EXPECT_LE((idle - before) / n, sizeof(RecordLayer) + 64);
  }
  // Traffic after release_buffers() makes what it needs again.
  auto& c = *layers[0];
  auto& s = *layers[1];
  ASSERT_TRUE(c.write(Bytes{'z'}).ok());
  test::transfer(c, s);
  Progress last{};
  EXPECT_EQ(test::read_all(s, last), Bytes{'z'});
}

INSTANTIATE_TEST_SUITE_P(Suites, Tls12RecordLayer, ::testing::Values(0xC02B, 0xC030, 0xCCA8),
                         [](const auto& info) {
                           char name[16];
                           std::snprintf(name, sizeof name, "0x%04X", info.param);
                           return std::string(name);
                         });

}  // namespace
}  // namespace wb::tls12
