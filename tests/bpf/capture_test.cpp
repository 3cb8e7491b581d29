// The real UDP captures in WB_TESTDATA_DIR through the classifier (BPF_PROG_TEST_RUN), packet
// by packet in capture order; each flow's class in the flow table is then what the kernel
// recorded. nDPI's own labels sit beside each capture (*.ndpiReader.out) for comparison.
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>

#include "tests/bpf/capture.h"
#include "tests/bpf/classifier_fixture.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

class CaptureTest : public ClassifierTest {
 protected:
  // "src -> dst/proto" -> class, for every flow the capture produced.
  std::map<std::string, wb_flow_class> replay(const std::string& relative) {
    auto frames = read_capture_frames(testdata_path(relative));
    EXPECT_TRUE(frames.ok()) << frames.error().message();
    std::map<std::string, wb_flow_class> out;
    if (!frames.ok()) return out;
    EXPECT_FALSE(frames->empty()) << relative;
    for (const Bytes& frame : *frames) {
      auto d = dp_->classify(frame);
      EXPECT_TRUE(d.ok()) << relative << ": " << d.error().message();
    }
    auto flows = dp_->flows();
    EXPECT_TRUE(flows.ok());
    if (!flows.ok()) return out;
    for (const auto& flow : *flows) {
      std::string proto =
          flow.key.l4_proto == IPPROTO_UDP ? "/udp" : "/" + std::to_string(flow.key.l4_proto);
      out[flow.src() + " -> " + flow.dst() + proto] =
          static_cast<wb_flow_class>(flow.value.flow_class);
    }
    return out;
  }
};

using Flows = std::map<std::string, wb_flow_class>;

TEST_F(CaptureTest, QuicDraft29) {
  EXPECT_EQ(replay("ndpi/quic-29.pcap"), (Flows{
                                             {"10.9.0.1:36588 -> 10.9.0.2:443/udp", WB_CLASS_QUIC},
                                             {"10.9.0.2:443 -> 10.9.0.1:36588/udp", WB_CLASS_QUIC},
                                         }));
}

TEST_F(CaptureTest, QuicV2OverIpv6LinuxCooked) {
  EXPECT_EQ(replay("ndpi/quic-v2.pcapng"), (Flows{
                                               {"[::1]:42086 -> [::1]:4443/udp", WB_CLASS_QUIC},
                                               {"[::1]:4443 -> [::1]:42086/udp", WB_CLASS_QUIC},
                                           }));
}

TEST_F(CaptureTest, QuicV2Loopback) {
  EXPECT_EQ(replay("suricata-verify/quic-v2_input.pcap"),
            (Flows{
                {"127.0.0.1:64629 -> 127.0.0.1:443/udp", WB_CLASS_QUIC},
                {"127.0.0.1:443 -> 127.0.0.1:64629/udp", WB_CLASS_QUIC},
            }));
}

TEST_F(CaptureTest, GoogleQuicQ043) {
  // Only the client's packets carry the version; the server's short public header is opaque.
  EXPECT_EQ(replay("ndpi/quic_q43.pcap"),
            (Flows{
                {"51.120.20.202:49241 -> 72.119.217.29:443/udp", WB_CLASS_GQUIC},
                {"72.119.217.29:443 -> 51.120.20.202:49241/udp", WB_CLASS_UNKNOWN},
            }));
}

TEST_F(CaptureTest, ClassicStunThenRtp) {
  // nDPI: STUN.RTP; the flow keeps the class of its first packets.
  EXPECT_EQ(replay("ndpi/stun_classic.pcap"),
            (Flows{
                {"172.16.63.21:13958 -> 172.16.63.224:55050/udp", WB_CLASS_CLASSIC_STUN},
                {"172.16.63.224:55050 -> 172.16.63.21:13958/udp", WB_CLASS_CLASSIC_STUN},
            }));
}

TEST_F(CaptureTest, RtpIncludingAVlanTaggedFlow) {
  EXPECT_EQ(replay("ndpi/rtp.pcapng"),
            (Flows{
                {"10.140.67.167:55402 -> 148.153.85.97:6008/udp", WB_CLASS_RTP},  // VLAN 1508
                {"10.204.220.71:6000 -> 10.204.220.171:6000/udp", WB_CLASS_RTP},
                {"150.219.118.19:54234 -> 192.113.193.227:50003/udp", WB_CLASS_RTP},
                {"192.113.193.227:50003 -> 150.219.118.19:54234/udp", WB_CLASS_RTP},
                {"172.16.168.24:40252 -> 172.16.168.64:5000/6", WB_CLASS_TCP},
                {"172.16.168.64:5000 -> 172.16.168.24:40252/6", WB_CLASS_TCP},
            }));
}

TEST_F(CaptureTest, SipSignallingIsNotMisclassified) {
  Flows flows = replay("ndpi/sip.pcap");
  EXPECT_EQ(flows["192.168.1.2:5060 -> 212.242.33.35:5060/udp"], WB_CLASS_UNKNOWN);
  EXPECT_EQ(flows["212.242.33.35:5060 -> 192.168.1.2:5060/udp"], WB_CLASS_UNKNOWN);
  EXPECT_EQ(flows["192.168.1.2:30000 -> 212.242.33.36:40392/udp"], WB_CLASS_RTP);
}

// With QUIC blocking on, exactly the client handshake packets to UDP 443 are dropped.
TEST_F(CaptureTest, QuicBlockingOnRealCaptures) {
  configure([](wb_config& c) { c.block_quic = 1; });
  struct Expect {
    const char* file;
    bool drops;
  };
  for (Expect e :
       {Expect{"ndpi/quic-29.pcap", true}, Expect{"suricata-verify/quic-v2_input.pcap", true},
        Expect{"ndpi/quic_q43.pcap", true}, Expect{"ndpi/quic-v2.pcapng", false},  // port 4443
        Expect{"ndpi/stun_classic.pcap", false}, Expect{"ndpi/rtp.pcapng", false},
        Expect{"ndpi/sip.pcap", false}}) {
    auto frames = read_capture_frames(testdata_path(e.file));
    ASSERT_TRUE(frames.ok()) << frames.error().message();
    int dropped = 0;
    for (const Bytes& frame : *frames) {
      auto d = dp_->classify(frame);
      ASSERT_TRUE(d.ok());
      if (d->verdict != WB_VERDICT_DROP) continue;
      ++dropped;
      EXPECT_EQ(d->reason, WB_REASON_QUIC_BLOCKED);
      EXPECT_GE(frame.size(), 14u + 20u + 8u + 1200u) << e.file << ": only padded client Initials";
    }
    if (e.drops) {
      EXPECT_GT(dropped, 0) << e.file;
    } else {
      EXPECT_EQ(dropped, 0) << e.file;
    }
  }
}

TEST_F(CaptureTest, UnreadableCaptureIsAnError) {
  EXPECT_FALSE(read_capture_frames(testdata_path("does-not-exist.pcap")).ok());
  EXPECT_FALSE(read_capture_frames(testdata_path("README.md")).ok());
}

}  // namespace
}  // namespace wb::test
