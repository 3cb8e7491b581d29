// The real SIP and TURN peers the later e2e tests drive through the bridge, proven here directly
// (client namespace -> plain bridge -> server namespace): kamailio (TLS on 5061 and 443, TCP 5060)
// with SIPp registering and calling through stunnel (sipp_tls.sh), and coturn with a TLS listener
// on 443 used by turnutils_uclient.
#include <gtest/gtest.h>

#include "tests/peers/peer_env.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

TEST(SipPeers, SippRegistersAndCallsOverTlsOn5061And443) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  ASSERT_TRUE(make_certs(topo, "sip.example.test"));
  Process& kamailio = start_kamailio(topo);
  ASSERT_TRUE(eventually(
      [&] {
        return listening(topo, topo.server(), 5061) && listening(topo, topo.server(), 443) &&
               listening(topo, topo.server(), 5060);
      },
      std::chrono::seconds(15)))
      << kamailio.log();

  for (int port : {5061, 443}) {
    SCOPED_TRACE("TLS port " + std::to_string(port));
    Process& uas = topo.spawn(topo.server(),
                              "cd " + topo.dir() + " && sipp -sf " + peer_file("uas.xml") +
                                  " -t t1 -i 192.0.2.2 -p 5070 -m 1 -nostdin -timeout 30s",
                              "sipp-uas-" + std::to_string(port));
    ASSERT_TRUE(eventually([&] { return listening(topo, topo.server(), 5070); })) << uas.log();
    auto uac = topo.exec(topo.client(),
                         "cd " + topo.dir() + " && " + peer_file("sipp_tls.sh") +
                             " 192.0.2.2:" + std::to_string(port) + " " + topo.dir() +
                             "/ca.pem sip.example.test " + peer_file("uac_register_call.xml"),
                         std::chrono::seconds(60));
    EXPECT_EQ(uac.exit_code, 0) << uac.out << uac.err << "\nkamailio:\n" << kamailio.log();
    EXPECT_EQ(uas.wait(std::chrono::seconds(15)), 0) << uas.log();
    // kamailio saw the REGISTER, the INVITE and the in-dialog BYE over TLS.
    std::string log = kamailio.log();
    EXPECT_NE(log.find("REGISTER sip:example.test"), std::string::npos);
    EXPECT_NE(log.find("INVITE sip:bob@example.test"), std::string::npos);
    EXPECT_NE(log.find("BYE sip:bob@192.0.2.2:5070"), std::string::npos);
    EXPECT_NE(log.find("over tls"), std::string::npos);
  }
}

TEST(TurnPeers, TurnutilsUclientOverTlsOn443) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  ASSERT_TRUE(make_certs(topo, "sip.example.test"));
  std::string conf = instantiate(topo, "turnserver.conf");
  Process& coturn = topo.spawn(topo.server(), "turnserver -c " + conf, "coturn");
  Process& peer =
      topo.spawn(topo.server(), "turnutils_peer -L 192.0.2.2 -p 3480", "turnutils-peer");
  ASSERT_TRUE(
      eventually([&] { return listening(topo, topo.server(), 443); }, std::chrono::seconds(15)))
      << coturn.log();
  (void)peer;
  auto client =
      topo.exec(topo.client(),
                "turnutils_uclient -t -S -p 443 -u alice -w wirebump-secret -e 192.0.2.2 -r 3480 "
                "-n 20 -l 200 -m 1 -c 192.0.2.2",
                std::chrono::seconds(60));
  ASSERT_EQ(client.exit_code, 0) << client.out << client.err << coturn.log();
  std::string out = client.out + client.err;
  EXPECT_NE(out.find("Total lost packets 0 (0.000000%)"), std::string::npos) << out;
  EXPECT_NE(out.find("Total transmit time"), std::string::npos) << out;
  // The allocation happened over TLS on 443.
  std::string log = coturn.log();
  EXPECT_NE(log.find("username=<alice>, lifetime="), std::string::npos) << log;
  EXPECT_NE(log.find("method=TLSv1."), std::string::npos) << log;
  EXPECT_NE(log.find("incoming packet ALLOCATE processed, success"), std::string::npos) << log;
}

}  // namespace
}  // namespace wb::test
