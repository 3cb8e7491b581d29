// RFC 8448 section 3 ("Simple 1-RTT Handshake"): the application traffic secrets, the keys and
// IVs derived from them, and the protected records of that trace (NewSessionTicket, application
// data both ways, close_notify both ways) opened and re-sealed byte for byte.
#include <gtest/gtest.h>

#include "agent/tls13/key_schedule.h"
#include "agent/tls13/record_layer.h"
#include "tests/tls13/tls13_test_util.h"

namespace wb::tls13 {
namespace {

using test::Bytes;
using test::from_hex;

// RFC 8448 section 3, {server} derive secret "tls13 c ap traffic" / "tls13 s ap traffic".
const char* const kClientApSecret =
    "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 "
    "a5";
const char* const kServerApSecret =
    "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 "
    "43";
// {server} derive write traffic keys for application data / {client} ... (key and iv expanded).
const char* const kServerApKey = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
const char* const kServerApIv = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
const char* const kClientApKey = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
const char* const kClientApIv = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";
// {server} send handshake record: NewSessionTicket, complete record (227 octets), seq 0.
const char* const kServerNstRecord =
    "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95"
    "d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88"
    "91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0"
    "3f 75 e0 9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5"
    "e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f"
    "69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49"
    "fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b"
    "6c 67 79 b3 7b f1 59 85 68 4f";
// {client} send application_data record (72 octets), seq 0; payload 00 01 ... 31.
const char* const kClientAppRecord =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab"
    "3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d"
    "ea e6 3a ee bb 21 69 49 15 e4";
// {server} send application_data record (72 octets), seq 1; the same payload.
const char* const kServerAppRecord =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b"
    "36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3"
    "32 54 0d d0 32 e1 67 c2 95 5d";
// {client} / {server} send alert record (24 octets): close_notify, client seq 1, server seq 2.
const char* const kClientAlertRecord =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const char* const kServerAlertRecord =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

Secret secret(const char* hex) {
  return *Secret::from(from_hex(hex));
}

Bytes payload() {
  Bytes p(50);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i);
  return p;
}

Bytes span_bytes(std::span<const std::uint8_t> s) {
  return Bytes(s.begin(), s.end());
}

TEST(Tls13Rfc8448, ApplicationTrafficKeysAndIvs) {
  for (auto [sec, key, iv] : {std::tuple{kServerApSecret, kServerApKey, kServerApIv},
                              std::tuple{kClientApSecret, kClientApKey, kClientApIv}}) {
    TrafficKeys keys;
    ASSERT_TRUE(derive_traffic_keys(Suite::kAes128GcmSha256, secret(sec), keys).ok());
    EXPECT_EQ(Bytes(keys.key.begin(), keys.key.begin() + 16), from_hex(key));
    EXPECT_EQ(Bytes(keys.iv.begin(), keys.iv.end()), from_hex(iv));
  }
}

TEST(Tls13Rfc8448, ServerSideOpensTheClientRecordsAndSealsTheServerRecordsExactly) {
  // Our side is the server after it sent the NewSessionTicket (server write seq 1).
  auto made = RecordLayer::create(Handoff{Suite::kAes128GcmSha256, false, secret(kClientApSecret),
                                          0, secret(kServerApSecret), 1});
  ASSERT_TRUE(made.ok());
  RecordLayer& rl = **made;
  rl.feed(from_hex(kClientAppRecord));
  test::Progress last{};
  EXPECT_EQ(test::read_all(rl, last), payload());
  EXPECT_EQ(last, test::Progress::kWantMore);
  ASSERT_TRUE(rl.write(payload()).ok());
  EXPECT_EQ(span_bytes(rl.output()), from_hex(kServerAppRecord));
  rl.consume_output();
  rl.feed(from_hex(kClientAlertRecord));
  std::size_t got = 0;
  Bytes buf(64);
  EXPECT_EQ(rl.read_into(buf, got), test::Progress::kClosed);
  rl.shutdown();
  EXPECT_EQ(span_bytes(rl.output()), from_hex(kServerAlertRecord));
}

TEST(Tls13Rfc8448, ClientSideDiscardsTheTicketAndOpensTheServerRecords) {
  auto made = RecordLayer::create(Handoff{Suite::kAes128GcmSha256, true, secret(kServerApSecret), 0,
                                          secret(kClientApSecret), 0});
  ASSERT_TRUE(made.ok());
  RecordLayer& rl = **made;
  ASSERT_TRUE(rl.write(payload()).ok());
  EXPECT_EQ(span_bytes(rl.output()), from_hex(kClientAppRecord));
  rl.consume_output();
  rl.shutdown();
  EXPECT_EQ(span_bytes(rl.output()), from_hex(kClientAlertRecord));
  Bytes server = from_hex(kServerNstRecord);
  const Bytes app = from_hex(kServerAppRecord);
  const Bytes alert = from_hex(kServerAlertRecord);
  server.insert(server.end(), app.begin(), app.end());
  server.insert(server.end(), alert.begin(), alert.end());
  rl.feed(server);
  test::Progress last{};
  EXPECT_EQ(test::read_all(rl, last), payload());
  EXPECT_EQ(last, test::Progress::kClosed);
  EXPECT_EQ(rl.read_seq(), 3u);
}

TEST(Tls13Rfc8448, TheTicketIsUnexpectedForAServer) {
  auto made = RecordLayer::create(Handoff{Suite::kAes128GcmSha256, false, secret(kServerApSecret),
                                          0, secret(kClientApSecret), 0});
  ASSERT_TRUE(made.ok());
  (*made)->feed(from_hex(kServerNstRecord));
  test::Progress last{};
  EXPECT_TRUE(test::read_all(**made, last).empty());
  EXPECT_EQ(last, test::Progress::kFailed);
  EXPECT_EQ((*made)->failure().alert, 10);
}

TEST(Tls13Rfc8448, WrongSequenceNumberIsBadRecordMac) {
  auto made = RecordLayer::create(Handoff{Suite::kAes128GcmSha256, false, secret(kClientApSecret),
                                          1, secret(kServerApSecret), 1});
  ASSERT_TRUE(made.ok());
  (*made)->feed(from_hex(kClientAppRecord));
  test::Progress last{};
  EXPECT_TRUE(test::read_all(**made, last).empty());
  EXPECT_EQ(last, test::Progress::kFailed);
  EXPECT_EQ((*made)->failure().kind, RecordLayer::Failure::Kind::kAlertSent);
  EXPECT_EQ((*made)->failure().alert, 20);
  EXPECT_EQ((*made)->failure().reason.rfind("alert bad_record_mac sent", 0), 0u);
}

TEST(Tls13Rfc8448, SecretOfTheWrongLengthForTheSuiteIsRefused) {
  auto made = RecordLayer::create(Handoff{Suite::kAes256GcmSha384, false, secret(kClientApSecret),
                                          0, secret(kServerApSecret), 0});
  EXPECT_FALSE(made.ok());
}

}  // namespace
}  // namespace wb::tls13
