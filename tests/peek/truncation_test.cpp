// Bounds and monotonicity: every prefix of every sample (each capture's client and server first
// bytes, each UDP datagram, the crafted samples) gives need-more, the full input's error, or the
// full input's answer, never another one; hellos re-split into records at every boundary parse
// the same; the 64 KiB cap holds. Prefixes are copied into exact-size buffers so the ASAN build
// catches any read past the end.
#include <gtest/gtest.h>

#include "agent/peek/peek.h"
#include "tests/peek/samples.h"

namespace wb::test {
namespace {

using peek::Kind;
using peek::Peek;
using peek::Status;

using Classify = Peek (*)(std::span<const std::uint8_t>);

Peek on_copy(Classify f, std::span<const std::uint8_t> bytes) {
  const Bytes exact(bytes.begin(), bytes.end());
  return f(exact);
}

void expect_same_answer(const Peek& got, const Peek& full) {
  EXPECT_EQ(got.kind, full.kind);
  EXPECT_EQ(got.consumed, full.consumed);
  EXPECT_EQ(got.hello.sni, full.hello.sni);
  EXPECT_EQ(got.hello.alpn, full.hello.alpn);
  EXPECT_EQ(got.hello.extensions, full.hello.extensions);
  EXPECT_EQ(got.line.method, full.line.method);
  EXPECT_EQ(got.stun.type, full.stun.type);
}

// All prefixes up to the decision point (and at least 4 KiB, or the whole sample).
void check_prefixes(Classify f, const Bytes& sample, const std::string& what) {
  SCOPED_TRACE(what);
  const Peek full = on_copy(f, sample);
  const std::size_t limit =
      std::min(sample.size(), std::max<std::size_t>(full.consumed + 16, 4096));
  for (std::size_t n = 0; n < limit; ++n) {
    const Peek p = on_copy(f, std::span(sample).first(n));
    if (p.need_more()) continue;
    if (p.status == Status::kError) {
      ASSERT_EQ(full.status, Status::kError) << "prefix " << n << ": " << p.error;
      continue;
    }
    ASSERT_TRUE(full.done()) << "prefix " << n << " decided, the whole input did not";
    if (full.kind != Kind::kUnknown) {
      ASSERT_GE(n, full.consumed) << "prefix " << n << " decided before the unit was complete";
    }
    expect_same_answer(p, full);
    if (testing::Test::HasFailure()) FAIL() << "prefix " << n;
  }
}

struct Sample {
  std::string name;
  Bytes bytes;
  Classify f;
};

std::vector<Sample> capture_samples() {
  std::vector<Sample> out;
  for (const std::string& file : all_captures()) {
    auto t = flows_of(file);
    for (std::size_t i = 0; i < t.flows.size(); ++i) {
      const auto& f = t.flows[i];
      const std::string name = file + " flow " + std::to_string(i);
      if (f.tcp()) {
        out.push_back({name + " client", client_bytes(f), peek::classify_client});
        out.push_back({name + " server", server_bytes(f), peek::classify_server});
        out.push_back({name + " hello", client_bytes(f), peek::parse_client_hello});
      } else {
        for (std::size_t d = 0; d < f.datagrams.size(); ++d) {
          out.push_back({name + " datagram " + std::to_string(d), f.datagrams[d].bytes,
                         peek::classify_client});
        }
      }
    }
  }
  return out;
}

TEST(Truncation, EveryPrefixOfEveryCaptureStream) {
  const auto samples = capture_samples();
  ASSERT_GT(samples.size(), 40u);
  std::size_t decided = 0;
  for (const Sample& s : samples) {
    check_prefixes(s.f, s.bytes, s.name);
    decided += on_copy(s.f, s.bytes).kind != Kind::kUnknown;
  }
  EXPECT_GT(decided, 20u);  // the samples are not all trivially unknown
}

TEST(Truncation, EveryPrefixOfCraftedSamples) {
  std::vector<Bytes> crafted = {
      hex("16 03 01 00 2d 01 00 00 29 03 01") + Bytes(32, 0x11) + hex("00 00 02 00 18 01 00"),
      hex("00 03 00 0c 21 12 a4 42 f1 3c 08 4b 80 18 17 72 47 49 30 65 00 0f 00 04 72 c6 4b c6 "
          "00 06 00 00"),
      hex("02 00 00 20 00 03 00 0c 21 12 a4 42 f1 3c 08 4b 80 18 17 72 47 49 30 65 00 0f 00 04 "
          "72 c6 4b c6 00 06 00 00"),
      text("\r\n\r\nSERVICE sip:a@b SIP/2.0\r\n"),
      text("GET / HTTP/1.1\r\n"),
      text("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      hex("40 01 00 05 01 02 03 04 05 00 00 00"),
      records(client_hello_message("example.com"), {1, 2, 3, 40}),
      hex("14 03 03 00 01 01") + records(client_hello_message("retry.example"), {}),
  };
  for (std::size_t i = 0; i < crafted.size(); ++i) {
    check_prefixes(peek::classify_client, crafted[i], "crafted " + std::to_string(i));
    const Peek full = peek::classify_client(crafted[i]);
    EXPECT_TRUE(full.done() && full.kind != Kind::kUnknown) << i << ": " << full.error;
  }
}

// The single-record ClientHellos of the captures, as handshake messages.
std::vector<Bytes> capture_hello_messages() {
  std::vector<Bytes> out;
  for (const char* file : {"zeek/tls_chrome-1250-tls-x25519-kyber.pcap", "zeek/tls_tls13-ech.pcap",
                           "zeek/tls_ocsp-stapling.pcap", "zeek/tls_hrr.pcap",
                           "ndpi/tls_ech.pcapng", "ndpi/tls_with_huge_ch.pcapng",
                           "suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap"}) {
    for (const auto& f : flows_of(file).flows) {
      const Bytes stream = client_bytes(f);
      const Peek p = peek::parse_client_hello(stream);
      if (p.done() && p.kind == Kind::kTls && p.hello.records == 1) {
        out.push_back(handshake_of(stream));
      }
    }
  }
  return out;
}

TEST(RecordSplit, OneHelloInTwoRecordsAtEveryBoundary) {
  const auto messages = capture_hello_messages();
  ASSERT_GE(messages.size(), 7u);
  for (const Bytes& msg : messages) {
    const Peek whole = peek::classify_client(records(msg, {}));
    ASSERT_TRUE(whole.done());
    // The 11 KiB hello is split at every 7th boundary (all of them would be quadratic).
    const std::size_t step = msg.size() > 4096 ? 7 : 1;
    for (std::size_t k = 1; k < msg.size(); k += step) {
      const Bytes two = records(msg, {k});
      const Peek p = peek::classify_client(two);
      ASSERT_TRUE(p.done()) << "split at " << k << ": " << p.error;
      EXPECT_EQ(p.hello.records, 2u);
      EXPECT_EQ(p.consumed, two.size());
      Peek same_length = p;  // only the record overhead differs
      same_length.consumed = whole.consumed;
      expect_same_answer(same_length, whole);
      if (testing::Test::HasFailure()) FAIL() << "split at " << k;
    }
  }
}

TEST(RecordSplit, OneByteRecordsAndEveryPrefixOfThem) {
  const Bytes msg = client_hello_message("one.byte.records.example", {{16, hex("00 03 02 68 32")}});
  std::vector<std::size_t> cuts;
  for (std::size_t k = 1; k < msg.size(); ++k) cuts.push_back(k);
  const Bytes tiny = records(msg, cuts);
  const Peek p = peek::classify_client(tiny);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.hello.records, msg.size());
  EXPECT_EQ(p.hello.sni, "one.byte.records.example");
  EXPECT_EQ(p.hello.alpn, std::vector<std::string>{"h2"});
  check_prefixes(peek::classify_client, tiny, "one-byte records");
}

TEST(RecordSplit, ForeignRecordInsideTheHelloIsAnError) {
  const Bytes msg = client_hello_message("x.example");
  Bytes b = records(msg, {10});
  // Turn the second record into application data.
  b[5 + 10] = 0x17;
  const Peek p = peek::classify_client(b);
  EXPECT_EQ(p.status, Status::kError);
  EXPECT_EQ(p.kind, Kind::kTls);
}

TEST(Cap, DeclaredHelloBeyondSixtyFourKiBFailsAtOnce) {
  // Record of 16384 bytes announcing a 70,000-byte hello: no need to wait for it.
  const Peek p = peek::classify_client(hex("16 03 01 40 00 01 01 11 70"));
  EXPECT_EQ(p.status, Status::kError);
  EXPECT_EQ(p.kind, Kind::kTls);
  EXPECT_NE(p.error.find("64 KiB"), std::string::npos) << p.error;
}

TEST(Cap, LargeHelloJustUnderTheCapInFourRecords) {
  const Bytes msg = client_hello_message("big.example", {{21, Bytes(60000, 0)}});
  std::vector<std::size_t> cuts;
  for (std::size_t k = 16384; k < msg.size(); k += 16384) cuts.push_back(k);
  const Bytes b = records(msg, cuts);
  ASSERT_LT(b.size(), peek::kMaxPeekBytes);
  const Peek p = peek::classify_client(b);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.hello.records, 4u);
  EXPECT_EQ(p.hello.sni, "big.example");
}

TEST(Cap, NoDecisionWithinTheCapIsAnError) {
  // Endless keepalive CRLFs: a SIP/HTTP line could still follow, until the cap.
  Bytes crlf;
  while (crlf.size() < peek::kMaxPeekBytes + 100) crlf.insert(crlf.end(), {'\r', '\n'});
  EXPECT_EQ(peek::classify_client(Bytes(crlf.begin(), crlf.begin() + 1000)).status,
            Status::kNeedMore);
  const Peek p = peek::classify_client(crlf);
  EXPECT_EQ(p.status, Status::kError);
  EXPECT_NE(p.error.find("cap"), std::string::npos) << p.error;
  // Only the first 64 KiB count: a hello followed by 100 KiB of anything is still the hello.
  Bytes hello = records(client_hello_message("cap.example"), {});
  hello.resize(hello.size() + 100'000, 0xee);
  const Peek h = peek::classify_client(hello);
  ASSERT_TRUE(h.done()) << h.error;
  EXPECT_EQ(h.hello.sni, "cap.example");
}

TEST(Cap, OverlongStartLineIsNotSipOrHttp) {
  const std::string line = "INVITE sip:" + std::string(9000, 'a') + "@example.com SIP/2.0\r\n";
  const Peek p = peek::classify_client(text(line));
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.kind, Kind::kUnknown);
}

TEST(Malformed, BrokenHellosAreErrorsNotMatches) {
  const Bytes good = client_hello_message("ok.example");
  auto with = [&](std::size_t at, std::uint8_t v) {
    Bytes m = good;
    m[at] = v;
    return peek::classify_client(records(m, {}));
  };
  // Extension list length off by one, session id longer than 32, empty cipher list.
  const std::size_t ext_len_at = 4 + 2 + 32 + 1 + 2 + 2 + 2;
  EXPECT_EQ(with(ext_len_at + 1, good[ext_len_at + 1] + 1).status, Status::kError);
  EXPECT_EQ(with(4 + 2 + 32, 33).status, Status::kError);
  EXPECT_EQ(with(4 + 2 + 32 + 1 + 1, 0).status, Status::kError);
  // A record longer than 2^14.
  EXPECT_EQ(peek::classify_client(hex("16 03 01 40 01 01")).status, Status::kError);
  // Duplicate extension, and pre_shared_key not last.
  const Bytes dup = client_hello_message("a.example", {{0x0017, {}}, {0x0017, {}}});
  EXPECT_EQ(peek::classify_client(records(dup, {})).status, Status::kError);
  const Bytes psk = client_hello_message("a.example", {{41, hex("00 00")}, {0x0017, {}}});
  EXPECT_EQ(peek::classify_client(records(psk, {})).status, Status::kError);
  const Bytes psk_last = client_hello_message("a.example", {{42, {}}, {41, hex("00 00")}});
  const Peek ok = peek::classify_client(records(psk_last, {}));
  ASSERT_TRUE(ok.done()) << ok.error;
  EXPECT_TRUE(ok.hello.pre_shared_key);
  EXPECT_TRUE(ok.hello.early_data);
}

}  // namespace
}  // namespace wb::test
