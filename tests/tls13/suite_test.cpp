// Suites, secrets, key-log lines and record boundaries: every truncation point, bad hex,
// wrong lengths.
#include <gtest/gtest.h>

#include <string>

#include "agent/tls13/record_boundaries.h"
#include "agent/tls13/suite.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls13 {
namespace {

const std::string kRandom(64, 'a');
const std::string kSecret32 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kSecret48 = kSecret32 + "202122232425262728292A2B2C2D2E2F";

TEST(Tls13Suite, IdsMapToSuites) {
  EXPECT_EQ(suite_from_id(0x1301), Suite::kAes128GcmSha256);
  EXPECT_EQ(suite_from_id(0x1302), Suite::kAes256GcmSha384);
  EXPECT_EQ(suite_from_id(0x1303), Suite::kChacha20Poly1305Sha256);
  for (std::uint16_t id : {0x0000, 0x1300, 0x1304, 0x1305, 0xc02f, 0x1313, 0xffff}) {
    EXPECT_FALSE(suite_from_id(id).has_value()) << id;
  }
  EXPECT_EQ(params(Suite::kAes128GcmSha256).key_len, 16u);
  EXPECT_EQ(params(Suite::kAes256GcmSha384).hash_len, 48u);
  EXPECT_EQ(params(Suite::kChacha20Poly1305Sha256).key_len, 32u);
}

TEST(Tls13Secret, OnlyHashLengthsAndWipedWhenMovedFrom) {
  std::vector<std::uint8_t> raw(64, 7);
  for (std::size_t n = 0; n <= raw.size(); ++n) {
    EXPECT_EQ(Secret::from(std::span(raw.data(), n)).has_value(), n == 32 || n == 48) << n;
  }
  auto s = *Secret::from(std::span(raw.data(), 32));
  Secret copy = s;
  Secret moved = std::move(s);
  EXPECT_EQ(moved.size(), 32u);
  EXPECT_EQ(copy.size(), 32u);
  EXPECT_TRUE(std::equal(copy.bytes().begin(), copy.bytes().end(), moved.bytes().begin()));
  EXPECT_EQ(s.size(), 0u);  // NOLINT(bugprone-use-after-move): the move wipes on purpose
  Secret assigned;
  assigned = std::move(moved);
  EXPECT_EQ(moved.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(assigned.bytes()[31], 7);
}

TEST(Tls13KeylogLine, ParsesBothTrafficLabels) {
  auto c = parse_traffic_secret_line("CLIENT_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret32);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->label, TrafficSecretLine::Label::kClientTraffic0);
  ASSERT_EQ(c->secret.size(), 32u);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ(c->secret.bytes()[i], i);
  auto s = parse_traffic_secret_line("SERVER_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret48);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->label, TrafficSecretLine::Label::kServerTraffic0);
  ASSERT_EQ(s->secret.size(), 48u);
  EXPECT_EQ(s->secret.bytes()[47], 0x2f);  // upper-case hex accepted
}

TEST(Tls13KeylogLine, OtherLabelsAreIgnored) {
  for (const char* label :
       {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "EXPORTER_SECRET",
        "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_1", "client_traffic_secret_0",
        "CLIENT_RANDOM", "SERVER_TRAFFIC_SECRET_00"}) {
    EXPECT_FALSE(parse_traffic_secret_line(std::string(label) + " " + kRandom + " " + kSecret32))
        << label;
  }
}

TEST(Tls13KeylogLine, EveryTruncationAndEveryBadCharacterIsRefused) {
  const std::string line = "SERVER_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret48;
  for (std::size_t n = 0; n < line.size(); ++n) {
    // Only the 32-byte cut of a 48-byte secret is itself a valid line.
    const bool valid = n == line.size() - 32;
    EXPECT_EQ(parse_traffic_secret_line(std::string_view(line).substr(0, n)).has_value(), valid)
        << n;
  }
  for (std::size_t i = 24; i < line.size(); ++i) {
    std::string bad = line;
    bad[i] = bad[i] == ' ' ? 'x' : 'g';
    EXPECT_FALSE(parse_traffic_secret_line(bad)) << i;
  }
  EXPECT_FALSE(parse_traffic_secret_line(line + "00"));
  EXPECT_FALSE(parse_traffic_secret_line(line + "\n"));
  EXPECT_FALSE(parse_traffic_secret_line(line + " "));
  EXPECT_FALSE(parse_traffic_secret_line("SERVER_TRAFFIC_SECRET_0  " + kRandom + " " + kSecret32));
  EXPECT_FALSE(parse_traffic_secret_line("SERVER_TRAFFIC_SECRET_0 " + kRandom + "aa " + kSecret32));
  EXPECT_FALSE(parse_traffic_secret_line("SERVER_TRAFFIC_SECRET_0 " + kRandom + " " +
                                         kSecret32.substr(0, 62)));  // 31 bytes
  EXPECT_FALSE(parse_traffic_secret_line("SERVER_TRAFFIC_SECRET_0 " + kRandom + " " + kSecret32 +
                                         kSecret32));  // 64 bytes
  EXPECT_FALSE(parse_traffic_secret_line(std::string(100000, 'A')));
}

// Two records of 3 and 0 bytes, then one of 300.
test::Bytes three_records() {
  test::Bytes s = {23, 3, 3, 0, 3, 1, 2, 3, 23, 3, 3, 0, 0, 23, 3, 3, 1, 44};
  s.resize(s.size() + 300, 9);
  return s;
}

TEST(Tls13RecordBoundaries, CountsAtEveryTruncationPointAndAnySplit) {
  const auto s = three_records();
  const std::size_t ends[] = {8, 13, s.size()};
  for (std::size_t n = 0; n <= s.size(); ++n) {
    std::uint64_t want = 0;
    bool boundary = n == 0;
    for (std::size_t e : ends) {
      if (n >= e) ++want;
      if (n == e) boundary = true;
    }
    RecordBoundaries whole;
    whole.consume(std::span(s).first(n));
    EXPECT_EQ(whole.complete(), want) << n;
    EXPECT_EQ(whole.at_boundary(), boundary) << n;
    EXPECT_FALSE(whole.malformed());
    // The same prefix split at n/2 and byte by byte.
    RecordBoundaries split;
    split.consume(std::span(s).first(n / 2));
    split.consume(std::span(s).subspan(n / 2, n - n / 2));
    EXPECT_EQ(split.complete(), want) << n;
    RecordBoundaries bytes;
    for (std::size_t i = 0; i < n; ++i) bytes.consume(std::span(s).subspan(i, 1));
    EXPECT_EQ(bytes.complete(), want) << n;
    EXPECT_EQ(bytes.at_boundary(), boundary) << n;
  }
}

TEST(Tls13RecordBoundaries, OversizeLengthIsMalformedAndSticky) {
  RecordBoundaries max_ok;
  test::Bytes ok = {23, 3, 3, 0x41, 0x00};  // exactly 2^14 + 256
  ok.resize(5 + 0x4100);
  max_ok.consume(ok);
  EXPECT_FALSE(max_ok.malformed());
  EXPECT_EQ(max_ok.complete(), 1u);
  RecordBoundaries over;
  over.consume(test::Bytes{23, 3, 3, 0x41, 0x01});
  EXPECT_TRUE(over.malformed());
  over.consume(test::Bytes{23, 3, 3, 0, 0});
  EXPECT_TRUE(over.malformed());
  EXPECT_EQ(over.complete(), 0u);
}

}  // namespace
}  // namespace wb::tls13
