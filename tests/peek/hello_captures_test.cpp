// Every ClientHello in the third-party captures parses to what the capture says: the expected
// values come from Wireshark's own dissector (tshark run on the same file at test time) and, for
// the hazard each capture was chosen for, from literal facts checked against tshark and nDPI's
// ndpiReader.out beside the capture when this test was written.
#include <gtest/gtest.h>

#include <sstream>

#include "agent/peek/peek.h"
#include "tests/peek/samples.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using peek::ClientHello;
using peek::Kind;

// The ClientHellos at the start of a client stream: the first one, then any that follow it
// directly (the second hello after a HelloRetryRequest).
std::vector<ClientHello> hellos_in(std::span<const std::uint8_t> stream) {
  std::vector<ClientHello> out;
  for (int i = 0; i < 4 && !stream.empty(); ++i) {
    peek::Peek p = peek::parse_client_hello(stream);
    if (!p.done() || p.kind != Kind::kTls) break;
    out.push_back(p.hello);
    stream = stream.subspan(p.consumed);
  }
  return out;
}

std::vector<ClientHello> hellos_of(std::string_view file) {
  std::vector<ClientHello> out;
  for (const replay::Flow& f : flows_of(file).flows) {
    if (!f.tcp()) continue;
    for (ClientHello& h : hellos_in(f.to_server.contiguous())) out.push_back(std::move(h));
  }
  return out;
}

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}
std::string join_hex(const std::vector<std::uint16_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + hex16(x);
  return s;
}
std::string join_dec(const std::vector<std::uint16_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// One tshark line per ClientHello, fields in this order.
constexpr const char* kFields[] = {
    "tls.handshake.extensions_server_name",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.version",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.length",
    "tls.handshake.extension.type",
    "tls.handshake.ciphersuite",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions_supported_group",
    "tls.handshake.extensions_key_share_group",
};

std::vector<std::vector<std::string>> tshark_hellos(std::string_view file) {
  std::string cmd = "tshark -n -r '" + testdata(file) +
                    "' -Y 'tls.handshake.type == 1' -T fields -E separator=/t -E occurrence=a "
                    "-E aggregator=,";
  for (const char* f : kFields) cmd += std::string(" -e ") + f;
  CommandResult r = run(cmd + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << cmd;
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cols;
    std::size_t from = 0;
    for (std::size_t tab; (tab = line.find('\t', from)) != std::string::npos; from = tab + 1) {
      cols.push_back(line.substr(from, tab - from));
    }
    cols.push_back(line.substr(from));
    rows.push_back(std::move(cols));
  }
  return rows;
}

class HelloVsTshark : public ::testing::TestWithParam<const char*> {};

TEST_P(HelloVsTshark, EveryFieldMatchesWireshark) {
  const std::vector<ClientHello> ours = hellos_of(GetParam());
  const auto theirs = tshark_hellos(GetParam());
  ASSERT_FALSE(theirs.empty()) << "tshark found no ClientHello";
  ASSERT_EQ(ours.size(), theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE("hello " + std::to_string(i));
    const ClientHello& h = ours[i];
    const auto& t = theirs[i];
    ASSERT_EQ(t.size(), std::size(kFields));
    EXPECT_EQ(h.sni, t[0]);
    EXPECT_EQ(join(h.alpn), t[1]);
    EXPECT_EQ(hex16(h.legacy_version), t[2]);
    EXPECT_EQ(join_hex(h.supported_versions), t[3]);
    EXPECT_EQ(std::to_string(h.length), t[4]);
    EXPECT_EQ(join_dec(h.extensions), t[5]);
    EXPECT_EQ(join_hex(h.cipher_suites), t[6]);
    EXPECT_EQ(join_hex(h.signature_algorithms), t[7]);
    EXPECT_EQ(join_hex(h.supported_groups), t[8]);
    EXPECT_EQ(join_dec(h.key_share_groups), t[9]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Captures, HelloVsTshark,
    ::testing::Values("zeek/tls_chrome-1250-tls-x25519-kyber.pcap", "zeek/tls_tls13-ech.pcap",
                      "zeek/tls_ocsp-stapling.pcap", "zeek/tls_hrr.pcap",
                      "ndpi/tls_with_huge_ch.pcapng", "ndpi/tls_ech.pcapng",
                      "suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap"));

// Sizes of the TCP segments (in capture order) that carried the first `bytes` of a client
// stream: how the hello was split on the wire.
std::vector<std::size_t> segments_carrying(std::string_view file, std::size_t bytes) {
  replay::Capture cap;
  replay::FlowTable t = flows_of(file, &cap);
  std::vector<std::size_t> sizes;
  const replay::Flow& f = t.flows.at(0);
  std::uint32_t base = 0;
  for (std::size_t i : f.frames) {
    replay::Packet p = replay::decode_frame(cap.link_type, cap.frames[i].data);
    if (!(p.src == f.client)) continue;
    if (p.tcp_flags & replay::kTcpSyn) base = p.seq + 1;
    if (!p.payload.empty() && p.seq - base < bytes) sizes.push_back(p.payload.size());
  }
  return sizes;
}

TEST(HelloCaptures, ChromeKyberKeyShareAndEchGrease) {
  // tshark: SNI lh3.google.com, key_share 51914 (GREASE), 25497 (0x6399 X25519Kyber768), 29.
  auto h = hellos_of("zeek/tls_chrome-1250-tls-x25519-kyber.pcap");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].sni, "lh3.google.com");
  EXPECT_EQ(h[0].alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(h[0].length, 1747u);
  EXPECT_EQ(h[0].key_share_groups, (std::vector<std::uint16_t>{0xcaca, 0x6399, 0x001d}));
  EXPECT_TRUE(h[0].grease);
  EXPECT_TRUE(h[0].ech);  // ECH GREASE: extension 0xfe0d present
  EXPECT_EQ(h[0].max_version(), 0x0304);
  EXPECT_EQ(h[0].record_version, 0x0301);
}

TEST(HelloCaptures, EchOuterSniIsWhatWeSee) {
  // Two ECH connections to cloudflare-ech.com (the first flow is mid-stream, no hello).
  auto h = hellos_of("zeek/tls_tls13-ech.pcap");
  ASSERT_EQ(h.size(), 2u);
  for (const auto& x : h) {
    EXPECT_EQ(x.sni, "cloudflare-ech.com");
    EXPECT_TRUE(x.ech);
    EXPECT_EQ(x.length, 508u);
  }
  // nDPI ndpi/tls_ech.pcapng.ndpiReader.out: "Hostname/SNI: performance.radar.cloudflare.com".
  auto n = hellos_of("ndpi/tls_ech.pcapng");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].sni, "performance.radar.cloudflare.com");
  EXPECT_TRUE(n[0].ech);
  EXPECT_TRUE(n[0].grease);
  EXPECT_EQ(n[0].supported_versions, (std::vector<std::uint16_t>{0xdada, 0x0304, 0x0303}));
}

TEST(HelloCaptures, SslV2CompatibleHellos) {
  auto z = hellos_of("zeek/tls_ssl-v2.pcap");
  ASSERT_EQ(z.size(), 1u);
  EXPECT_TRUE(z[0].sslv2);
  EXPECT_EQ(z[0].record_version, 0x0002);
  EXPECT_EQ(z[0].legacy_version, 0x0002);  // a pure SSLv2 client
  EXPECT_TRUE(z[0].sni.empty());
  // tshark: 7 specs, all SSLv2-only kinds (0x0700c0 ... 0x020080), none a TLS suite 0x00xxxx.
  EXPECT_TRUE(z[0].cipher_suites.empty());
  EXPECT_EQ(z[0].length, 8u + 21 + 16);
  auto s = hellos_of("suricata-verify/sslv2-tls-upgrade-01_ssl-v2-s1.pcap");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].sslv2);
  EXPECT_EQ(s[0].legacy_version, 0x0301);  // SSLv2 format offering TLS 1.0
}

TEST(HelloCaptures, StatusRequest) {
  auto h = hellos_of("zeek/tls_ocsp-stapling.pcap");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0].status_request);
  EXPECT_TRUE(h[0].sni.empty());
  EXPECT_EQ(h[0].legacy_version, 0x0301);
}

TEST(HelloCaptures, SecondHelloAfterHelloRetryRequest) {
  auto t = flows_of("zeek/tls_hrr.pcap");
  ASSERT_EQ(t.flows.size(), 1u);
  auto stream = t.flows[0].to_server.contiguous();
  peek::Peek first = peek::classify_client(stream);
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.kind, Kind::kTls);
  EXPECT_EQ(first.consumed, 5u + 4 + 227);
  // 14 03 03 00 01 01, then the second hello (record version 0x0303, 235 bytes).
  auto rest = stream.subspan(first.consumed);
  ASSERT_GE(rest.size(), 6u);
  EXPECT_EQ(Bytes(rest.begin(), rest.begin() + 6), hex("14 03 03 00 01 01"));
  peek::Peek second = peek::parse_client_hello(rest);
  ASSERT_TRUE(second.done()) << second.error;
  EXPECT_EQ(second.kind, Kind::kTls);
  EXPECT_EQ(second.hello.length, 235u);
  EXPECT_EQ(second.hello.record_version, 0x0303);
  EXPECT_EQ(second.consumed, 6u + 5 + 4 + 235);
  EXPECT_EQ(second.hello.supported_versions, (std::vector<std::uint16_t>{0x0304}));
}

TEST(HelloCaptures, HugeHelloOverTwelveSegments) {
  // nDPI tls_with_huge_ch.pcapng.ndpiReader.out: "(Advertised) ALPNs: h2;http/1.1",
  // "TLS Supported Versions: TLSv1.3;TLSv1.2;...". tshark: 11414-byte hello, 12 segments.
  auto h = hellos_of("ndpi/tls_with_huge_ch.pcapng");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].length, 11414u);
  EXPECT_EQ(h[0].records, 1u);
  EXPECT_EQ(h[0].alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(h[0].supported_versions, (std::vector<std::uint16_t>{0x0304, 0x0303, 0x0302, 0x0301}));
  EXPECT_EQ(segments_carrying("ndpi/tls_with_huge_ch.pcapng", 5 + 4 + 11414).size(), 12u);
}

TEST(HelloCaptures, HelloSplit248Plus248Plus21) {
  const char* file = "suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap";
  auto h = hellos_of(file);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].sni, "www.google.com");
  EXPECT_EQ(h[0].alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(h[0].length, 508u);
  EXPECT_EQ(segments_carrying(file, 5 + 4 + 508), (std::vector<std::size_t>{248, 248, 21}));
}

}  // namespace
}  // namespace wb::test
