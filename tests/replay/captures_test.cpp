// wb_replay against every third-party capture: each one reads without damage, yields the same
// frames and conversations as Wireshark (tshark on the same file at test time) and nDPI
// (ndpiReader.out beside the capture), and its link type, VLAN tags and flow directions come out
// right. The gzip-compressed capture is decompressed into the build tree first.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/support/build_paths.h"
#include "agent/peek/peek.h"
#include "agent/replay/flows.h"
#include "tests/peek/samples.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

std::vector<std::string> lines_of(const std::string& command) {
  CommandResult r = run(command + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << command;
  std::vector<std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Decompresses WB_TESTDATA_DIR/relative (a .gz) into the build tree; returns the new path.
std::string gunzipped(const std::string& relative) {
  std::string name = relative.substr(relative.rfind('/') + 1);
  name.resize(name.size() - 3);  // drop ".gz"
  const std::string out = std::string(WB_BINARY_DIR) + "/replay-testdata-" + name;
  CommandResult r = run("gzip -dc '" + testdata(relative) + "' > '" + out + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

class EveryCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryCapture, FramesAndConversationsMatchTshark) {
  const std::string path = testdata(GetParam());
  auto cap = replay::read_capture(path);
  ASSERT_TRUE(cap.ok()) << cap.error().message();
  EXPECT_TRUE(cap->warnings.empty()) << cap->warnings.front();
  // One tshark line per frame: "<tcp.stream>\t<udp.stream>" (empty when not that protocol).
  const auto frames = lines_of("tshark -n -r '" + path + "' -T fields -e tcp.stream -e udp.stream");
  ASSERT_EQ(cap->frames.size(), frames.size());
  std::set<std::string> tcp, udp;
  for (const std::string& f : frames) {
    const std::size_t tab = f.find('\t');
    if (tab == std::string::npos) continue;
    if (tab > 0) tcp.insert(f.substr(0, tab));
    if (tab + 1 < f.size()) udp.insert(f.substr(tab + 1));
  }
  const replay::FlowTable t = replay::build_flows(*cap);
  EXPECT_EQ(t.malformed, 0u);
  std::size_t ours_tcp = 0, ours_udp = 0;
  for (const auto& f : t.flows) (f.tcp() ? ours_tcp : ours_udp)++;
  EXPECT_EQ(ours_tcp, tcp.size());
  EXPECT_EQ(ours_udp, udp.size());
  // Every frame of a flow is accounted to it.
  std::size_t in_flows = 0;
  for (const auto& f : t.flows) in_flows += f.frames.size();
  std::size_t tcp_udp_frames = 0;
  for (const std::string& f : frames)
    tcp_udp_frames += f.find_first_not_of('\t') != std::string::npos;
  EXPECT_EQ(in_flows, tcp_udp_frames);
}

INSTANTIATE_TEST_SUITE_P(Testdata, EveryCapture, ::testing::ValuesIn(all_captures()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           }
                           return name;
                         });

TEST(Captures, LinkTypesOfTheTestdata) {
  struct Case {
    const char* file;
    int dlt;
  } cases[] = {{"ndpi/quic-v2.pcapng", 113},                               // Linux cooked v1
               {"suricata-verify/sip-body-large_sip-body-large.pcap", 0},  // BSD loopback
               {"suricata-verify/quic-v2_input.pcap", 0},
               {"zeek/tls_hrr.pcap", 1}};
  for (const Case& c : cases) {
    auto cap = replay::read_capture(testdata(c.file));
    ASSERT_TRUE(cap.ok()) << c.file;
    EXPECT_EQ(cap->link_type, c.dlt) << c.file;
    const auto t = replay::build_flows(*cap);
    EXPECT_EQ(t.flows.size(), 1u) << c.file;
    EXPECT_EQ(t.malformed + t.not_ip, 0u) << c.file;
  }
}

TEST(Captures, FlowsAndDirectionsAsNdpiSeesThem) {
  // rtp.pcapng.ndpiReader.out: "UDP 10.140.67.167:55402 -> 148.153.85.97:6008 [VLAN: 1508]",
  // "TCP 172.16.168.24:40252 <-> 172.16.168.64:5000" (RTP over TCP, RFC 4571).
  auto t = flows_of("ndpi/rtp.pcapng");
  ASSERT_EQ(t.flows.size(), 4u);
  std::set<std::string> seen;
  for (const auto& f : t.flows) seen.insert(f.str());
  EXPECT_TRUE(seen.count("udp 10.140.67.167:55402 -> 148.153.85.97:6008 vlan 1508"));
  EXPECT_TRUE(seen.count("tcp 172.16.168.24:40252 -> 172.16.168.64:5000"));
  EXPECT_TRUE(seen.count("udp 10.204.220.71:6000 -> 10.204.220.171:6000"));
  EXPECT_TRUE(seen.count("udp 150.219.118.19:54234 -> 192.113.193.227:50003"));
  // tls_ech.pcapng.ndpiReader.out: IPv6 "[2001:b07:a3d:c112:ce16:b409:3d0a:9177]:47460 <->
  // [2606:4700::6812:1e4e]:443", 6 packets <-> 4 packets.
  auto e = flows_of("ndpi/tls_ech.pcapng");
  ASSERT_EQ(e.flows.size(), 1u);
  EXPECT_EQ(e.flows[0].str(),
            "tcp [2001:b07:a3d:c112:ce16:b409:3d0a:9177]:47460 -> [2606:4700::6812:1e4e]:443");
  EXPECT_EQ(e.flows[0].packets_to_server, 6u);
  EXPECT_EQ(e.flows[0].packets_to_client, 4u);
  EXPECT_EQ(e.flows[0].client_by, "syn");
}

TEST(Captures, HugeHelloStreamReassembledWithRetransmissions) {
  // tshark: 194 client packets; 3 data segments are retransmissions (its SYN retransmissions
  // are not stream data).
  auto t = flows_of("ndpi/tls_with_huge_ch.pcapng");
  ASSERT_EQ(t.flows.size(), 1u);
  const auto& f = t.flows[0];
  EXPECT_EQ(f.packets_to_server, 194u);
  EXPECT_EQ(f.packets_to_client, 234u);
  EXPECT_TRUE(f.to_server.syn_seen());
  EXPECT_FALSE(f.to_server.has_gap());
  EXPECT_GT(f.to_server.contiguous().size(), 11423u);
  const auto retrans =
      lines_of("tshark -n -r '" + testdata("ndpi/tls_with_huge_ch.pcapng") +
               "' -Y 'tcp.analysis.retransmission && tcp.srcport == 40640 && tcp.len > 0'"
               " -T fields -e frame.number");
  EXPECT_EQ(f.to_server.retransmissions(), retrans.size());
}

TEST(Captures, GzippedFragmentedHandshakeAfterGunzip) {
  const std::string path = gunzipped("zeek/tls_tls-fragmented-handshake.pcap.gz");
  auto cap = replay::read_capture(path);
  ASSERT_TRUE(cap.ok()) << cap.error().message();
  EXPECT_EQ(cap->frames.size(), 416u);  // capinfos
  const auto t = replay::build_flows(*cap);
  ASSERT_FALSE(t.flows.empty());
  std::size_t tls = 0;
  for (const auto& f : t.flows) {
    if (!f.tcp() || !f.to_server.syn_seen()) continue;
    const auto c = peek::classify_client(f.to_server.contiguous());
    const auto s = peek::classify_server(f.to_client.contiguous());
    tls += c.kind == peek::Kind::kTls && s.kind == peek::Kind::kTls;
  }
  EXPECT_GE(tls, 1u);
}

}  // namespace
}  // namespace wb::test
