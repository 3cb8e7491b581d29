// `wirebump replay` end to end on every capture in testdata: the real classifier program in the
// running kernel (BPF_PROG_TEST_RUN on a private dry-run datapath), the first-bytes classifier
// and the policy. Expected per-flow protocols are nDPI's labels (ndpiReader.out beside each nDPI
// capture) or tshark's dissection, noted per case; the config changes the outcome as it should.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/build_paths.h"
#include "agent/replay/replay_report.h"
#include "tests/peek/samples.h"
#include "tests/replay/pcap_writer.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using replay::FlowReport;
using replay::Report;

Report replay_of(std::string_view file, const config::Config& cfg = {}) {
  replay::ReplayOptions options;
  options.config = cfg;
  auto r = replay::replay_file(testdata(file), options);
  EXPECT_TRUE(r.ok()) << file << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(r).value() : Report{};
}

config::Config config_of(std::string_view toml) {
  auto cfg = config::parse_config(toml, "test.toml");
  EXPECT_TRUE(cfg.ok()) << (cfg.ok() ? "" : cfg.error().message());
  return cfg.ok() ? std::move(cfg).value() : config::Config{};
}

// "l4 server-port protocol action" per flow, sorted: compact and order-independent.
std::multiset<std::string> summary(const Report& r) {
  std::multiset<std::string> out;
  for (const FlowReport& f : r.flows) {
    const std::string port = f.server.substr(f.server.rfind(':') + 1);
    out.insert(f.l4 + " " + port + " " + f.detected.protocol + " " + f.action);
  }
  return out;
}

struct Expected {
  const char* file;
  std::multiset<std::string> flows;
  const char* source;  // where the expected protocols come from
};

const Expected kExpected[] = {
    {"ndpi/quic-29.pcap", {"udp 443 quic bypass"}, "nDPI: QUIC"},
    {"ndpi/quic_q43.pcap", {"udp 443 gquic bypass"}, "nDPI: QUIC, QUIC ver: Q043"},
    {"ndpi/quic-v2.pcapng", {"udp 4443 quic bypass"}, "nDPI: QUIC"},
    {"suricata-verify/quic-v2_input.pcap", {"udp 443 quic bypass"}, "suricata-verify: quic-v2"},
    {"ndpi/sip.pcap",
     {"udp 5060 sip bypass", "udp 5060 sip bypass", "udp 40392 rtp bypass", "udp 40393 rtp bypass"},
     "nDPI: SIP, SIP, RTP, Unknown (one 146-byte packet: the kernel's RTP header check accepts "
     "it)"},
    {"ndpi/stun_classic.pcap", {"udp 13958 classic-stun bypass"}, "nDPI: STUN.RTP"},
    // nDPI: RTP over TCP (RFC 4571 length prefix), RTP (6000), Discord (50003), RTP (vlan 1508).
    // The kernel classes the 6000 flow as RTP; the other two open with packets its RTP check
    // does not accept, and TCP 5000 is not a candidate port (the agent never sees it).
    {"ndpi/rtp.pcapng",
     {"tcp 5000 unknown bypass", "udp 6000 rtp bypass", "udp 50003 unknown bypass",
      "udp 6008 unknown bypass"},
     "nDPI: RTP, RTP, Discord, RTP"},
    {"ndpi/tls_ech.pcapng", {"tcp 443 tls intercept"}, "nDPI: TLS.Cloudflare"},
    {"ndpi/tls_with_huge_ch.pcapng", {"tcp 443 tls intercept"}, "nDPI: TLS"},
    {"suricata-verify/firewall_app-layer-protocol-negated-unknown-shortcircuit_input.pcap",
     {"tcp 443 unknown tunnel"},
     "suricata-verify: unknown protocol (32 bytes de ad be ef first)"},
    {"suricata-verify/sip-body-large_sip-body-large.pcap",
     {"tcp 5060 sip bypass"},
     "tshark: SIP INVITE"},
    {"suricata-verify/sip-tcp-pattern-matching_sip.pcap",
     {"tcp 5062 sip bypass"},
     "tshark: SIP REGISTER"},
    {"suricata-verify/sslv2-tls-upgrade-01_ssl-v2-s1.pcap",
     {"tcp 443 tls intercept"},
     "tshark: SSLv2 hello"},
    {"suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap",
     {"tcp 443 tls intercept"},
     "tshark: TLS"},
    {"zeek/tls_chrome-1250-tls-x25519-kyber.pcap", {"tcp 443 tls intercept"}, "tshark: TLS"},
    {"zeek/tls_hrr.pcap", {"tcp 443 tls intercept"}, "tshark: TLS"},
    {"zeek/tls_ocsp-stapling.pcap", {"tcp 443 tls intercept"}, "tshark: TLS"},
    {"zeek/tls_ssl-v2.pcap", {"tcp 443 tls intercept"}, "tshark: SSLv2"},
    // The first connection is captured mid-stream (39 bytes of application data, no SYN): the
    // kernel does not own it and the bytes are not a hello.
    {"zeek/tls_tls13-ech.pcap",
     {"tcp 443 unknown bypass", "tcp 443 tls intercept", "tcp 443 tls intercept"},
     "tshark: TLS x3"},
};

TEST(ReplayReport, EveryCaptureHasAnExpectation) {
  std::set<std::string> covered;
  for (const Expected& e : kExpected) covered.insert(e.file);
  for (const std::string& file : all_captures()) EXPECT_TRUE(covered.count(file)) << file;
}

TEST(ReplayReport, PerFlowProtocolsOfEveryCapture) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(std::string(e.file) + " (" + e.source + ")");
    const Report r = replay_of(e.file);
    EXPECT_TRUE(r.kernel);
    EXPECT_FALSE(r.damaged);
    EXPECT_EQ(summary(r), e.flows);
    std::size_t total = 0;
    for (const auto& [name, n] : r.by_protocol) total += n;
    EXPECT_EQ(total, r.flows.size());
  }
}

TEST(ReplayReport, DetailsCarrySniAlpnAndQuicVersions) {
  const Report ech = replay_of("ndpi/tls_ech.pcapng");
  ASSERT_EQ(ech.flows.size(), 1u);
  EXPECT_EQ(ech.flows[0].detected.details["sni"], "performance.radar.cloudflare.com");
  EXPECT_EQ(ech.flows[0].detected.details["alpn"], nlohmann::json({"h2", "http/1.1"}));
  EXPECT_EQ(ech.flows[0].detected.details["ech"], true);
  ASSERT_TRUE(ech.flows[0].kernel);
  EXPECT_EQ(ech.flows[0].kernel->reason, WB_REASON_STEER_SYN);
  EXPECT_EQ(ech.flows[0].label, "tls");

  EXPECT_EQ(replay_of("ndpi/quic_q43.pcap").flows.at(0).detected.details["version"], "Q043");
  EXPECT_EQ(replay_of("ndpi/quic-29.pcap").flows.at(0).detected.details["version"], "draft-29");
  EXPECT_EQ(replay_of("ndpi/quic-v2.pcapng").flows.at(0).detected.details["version"], "v2");
  const Report sip = replay_of("suricata-verify/sip-tcp-pattern-matching_sip.pcap");
  EXPECT_EQ(sip.flows.at(0).detected.details["method"], "REGISTER");
}

TEST(ReplayReport, ConfigDecidesSteeringBypassQuicAndPolicy) {
  // SIP on 5060 steered to the agent: inspected as SIP.
  const Report sip = replay_of("suricata-verify/sip-body-large_sip-body-large.pcap",
                               config_of("candidate_ports = [443, 5060]\n"));
  ASSERT_EQ(sip.flows.size(), 1u);
  EXPECT_EQ(sip.flows[0].action, "inspect");
  EXPECT_EQ(sip.flows[0].label, "sip");
  // Detection off for SIP: tunnelled.
  const Report off = replay_of("suricata-verify/sip-body-large_sip-body-large.pcap",
                               config_of("candidate_ports = [5060]\n[detect]\nsip = false\n"));
  EXPECT_EQ(off.flows.at(0).action, "tunnel");
  // A policy rule by SNI.
  const Report rule =
      replay_of("suricata-verify/tls_tls-client-hello-frag-01_dump_mtu300.pcap",
                config_of("[[policy]]\nsni = \"*.google.com\"\naction = \"tunnel\"\n"));
  EXPECT_EQ(rule.flows.at(0).action, "tunnel");
  EXPECT_NE(rule.flows.at(0).why.find("google.com"), std::string::npos) << rule.flows[0].why;
  // Kernel bypass by destination CIDR.
  const Report bypass =
      replay_of("zeek/tls_hrr.pcap", config_of("bypass_dst = [\"64.233.185.0/24\"]\n"));
  EXPECT_EQ(bypass.flows.at(0).action, "bypass");
  EXPECT_EQ(bypass.flows.at(0).why, "excluded_dst");
  // QUIC blocking drops the Initial on UDP 443.
  const Report quic = replay_of("ndpi/quic-29.pcap", config_of("block_quic = true\n"));
  EXPECT_EQ(quic.flows.at(0).action, "drop");
  EXPECT_EQ(quic.flows.at(0).why, "quic_blocked");
  EXPECT_GE(quic.flows.at(0).frames_dropped, 1u);
  // Interception switched off: nothing is steered.
  const Report no = replay_of("zeek/tls_hrr.pcap", config_of("intercept = false\n"));
  EXPECT_EQ(no.flows.at(0).why, "intercept_off");
}

TEST(ReplayReport, JsonHasFlowsAndTotals) {
  const Report r = replay_of("ndpi/sip.pcap");
  const nlohmann::json j = replay::to_json(r);
  ASSERT_EQ(j["flows"].size(), 4u);
  EXPECT_EQ(j["totals"]["protocols"]["sip"], 2);
  EXPECT_EQ(j["flows"][0]["kernel"]["verdict"], "bypass");
  EXPECT_EQ(j["flows"][0]["protocol"], "sip");
  EXPECT_EQ(j["link_type"], "EN10MB");
  std::ostringstream text;
  replay::print_text(r, text);
  EXPECT_NE(text.str().find("udp 192.168.1.2:5060 -> 212.242.33.35:5060  kernel bypass/udp  sip"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("protocols: rtp=2 sip=2"), std::string::npos) << text.str();
}

TEST(ReplayReport, WithoutTheKernel) {
  replay::ReplayOptions options;
  options.use_kernel = false;
  auto r = replay::replay_file(testdata("zeek/tls_hrr.pcap"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->kernel);
  EXPECT_EQ(r->flows.at(0).action, "intercept");
  EXPECT_FALSE(r->flows.at(0).kernel.has_value());
}

// Frames larger than a kernel test run takes (GRO/TSO-merged in the capture) still get the kernel's
// decision: a flow captured mid-stream whose only frame is a 20 KB segment, and a QUIC Initial in
// a 5,000-byte datagram that QUIC blocking must drop.
TEST(ReplayReport, OversizedFramesAreJudgedByTheKernel) {
  const Bytes initial = flows_of("ndpi/quic-29.pcap").flows.at(0).datagrams.at(0).bytes;
  const std::vector<PcapRecord> recs = {
      {ethernet(ip_tcp({.seq = 1, .payload = Bytes(20'000, 'x')}))},
      {ethernet(ip_udp("198.51.100.1", "198.51.100.2", 50000, 443,
                       initial + Bytes(5000 - initial.size(), 0)))}};
  auto cap = replay::read_capture(pcap_file(1, recs));
  ASSERT_TRUE(cap.ok()) << cap.error().message();
  replay::ReplayOptions options;
  options.config = config_of("block_quic = true\n");
  auto r = replay::replay_capture(*cap, options);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->flows.size(), 2u);
  for (const FlowReport& f : r->flows) {
    ASSERT_TRUE(f.kernel.has_value()) << f.l4 << " " << f.server;
    if (f.l4 == "tcp") {
      EXPECT_EQ(f.kernel->verdict, WB_VERDICT_BYPASS);  // not a SYN, not the agent's: bypassed
      EXPECT_EQ(f.action, "bypass");
    } else {
      EXPECT_EQ(f.kernel->verdict, WB_VERDICT_DROP);
      EXPECT_EQ(f.action, "drop");
      EXPECT_EQ(f.frames_dropped, 1u);
    }
  }
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("2 frames (largest 20054 bytes) longer than"), std::string::npos)
      << r->warnings[0];
}

// The command itself: exit codes and output for a good, a damaged and a foreign file.
TEST(ReplayCommand, ExitCodesAndOutput) {
  const std::string bin = std::string(WB_BINARY_DIR) + "/agent/cli/wirebump";
  CommandResult ok = run(bin + " replay '" + testdata("ndpi/tls_ech.pcapng") + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("sni=performance.radar.cloudflare.com"), std::string::npos) << ok.out;
  CommandResult js = run(bin + " replay --json '" + testdata("ndpi/quic_q43.pcap") + "'");
  ASSERT_EQ(js.exit_code, 0) << js.err;
  EXPECT_EQ(nlohmann::json::parse(js.out)["flows"][0]["details"]["version"], "Q043");
  // A truncated copy: the frames before the damage, a warning, exit 1.
  const std::string cut = std::string(WB_BINARY_DIR) + "/replay-cut.pcap";
  ASSERT_EQ(run("head -c 3000 '" + testdata("zeek/tls_hrr.pcap") + "' > " + cut).exit_code, 0);
  CommandResult damaged = run(bin + " replay " + cut);
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_NE(damaged.err.find("warning: capture damaged"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.out.find("tcp 10.192.48.168:63564 -> 64.233.185.139:443"), std::string::npos);
  // Not a capture: a clear error, exit 1.
  CommandResult junk = run(bin + " replay '" + testdata("README.md") + "'");
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.err.find("wirebump replay: open capture"), std::string::npos) << junk.err;
}

}  // namespace
}  // namespace wb::test
