// Real SIP and TURN software through the inspectors: SIPp registers and calls via kamailio over
// TCP, and turnutils_uclient allocates and relays media via coturn over TCP, each connection
// passing an in-process relay that feeds the live bytes of both directions to the inspector the
// factory makes. The inspectors must report what the peers did, and never break them.
#include <gtest/gtest.h>

#include "inspectors/factory.h"
#include "tests/peers/tcp_relay.h"
#include "tests/peers/peer_env.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

TEST(PeersThroughInspectors, SippAndKamailioThroughTheSipInspector) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  ASSERT_TRUE(make_certs(topo, "sip.example.test"));
  Process& kamailio = start_kamailio(topo);
  Process& uas = topo.spawn(topo.server(),
                            "cd " + topo.dir() + " && sipp -sf " + peer_file("uas.xml") +
                                " -t t1 -i 192.0.2.2 -p 5070 -m 1 -nostdin -timeout 30s",
                            "sipp-uas");
  ASSERT_TRUE(eventually(
      [&] { return listening(topo, topo.server(), 5060) && listening(topo, topo.server(), 5070); },
      std::chrono::seconds(15)))
      << kamailio.log() << uas.log();

  NetnsGuard in_client(topo.client());
  ASSERT_TRUE(in_client.ok());
  UniqueFd listener = listen_tcp(Topology::kClientIp, 5062);
  ASSERT_GE(listener.get(), 0);
  Process& uac = topo.spawn(
      topo.client(),
      "cd " + topo.dir() + " && sipp 192.0.2.1:5062 -sf " + peer_file("uac_register_call.xml") +
          " -t t1 -i 192.0.2.1 -p 5090 -m 1 -l 1 -timeout 20s -timeout_error -nostdin",
      "sipp-uac");
  auto inspector = inspect::make_inspector("sip", {});
  ASSERT_TRUE(inspector.ok());
  EXPECT_EQ(
      relay_one(listener.get(), Topology::kServerIp, 5060, **inspector, std::chrono::seconds(40)),
      "");
  EXPECT_EQ(uac.wait(std::chrono::seconds(10)), 0) << uac.log() << kamailio.log();
  EXPECT_EQ(uas.wait(std::chrono::seconds(10)), 0) << uas.log();

  nlohmann::json detail = (*inspector)->detail();
  SCOPED_TRACE(detail.dump(2));
  EXPECT_EQ((*inspector)->brief(), "alice@example.test BYE 200 dialogs=0 reg=registered");
  EXPECT_EQ(detail["registration"]["aor"], "alice@example.test");
  EXPECT_EQ(detail["registration"]["expires"], 600);
  EXPECT_EQ(detail["server"].get<std::string>().rfind("kamailio", 0), 0u);
  EXPECT_EQ(detail["malformed"], 0);
  for (const char* method : {"REGISTER", "INVITE", "ACK", "BYE"})
    EXPECT_EQ(detail["methods"][method], 1) << method;
  ASSERT_EQ(detail["dialogs"].size(), 1u);
  nlohmann::json dialog = detail["dialogs"][0];
  EXPECT_EQ(dialog["to"], "bob@example.test");
  EXPECT_EQ(dialog["state"], "terminated");
  EXPECT_EQ(dialog["final_status"], 200);
  EXPECT_FALSE(dialog["to_tag"].get<std::string>().empty());
  EXPECT_EQ(dialog["media"][0], "audio 6000 RTP/AVP 0");
  EXPECT_EQ(dialog["media"].size(), 2u);  // offer and answer
  EXPECT_EQ(dialog["candidates"].size(), 1u);
}

TEST(PeersThroughInspectors, TurnutilsAndCoturnThroughTheTurnInspector) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  ASSERT_TRUE(make_certs(topo, "turn.example.test"));
  Process& coturn =
      topo.spawn(topo.server(), "turnserver -c " + instantiate(topo, "turnserver.conf"), "coturn");
  topo.spawn(topo.server(), "turnutils_peer -L 192.0.2.2 -p 3480", "turnutils-peer");
  ASSERT_TRUE(
      eventually([&] { return listening(topo, topo.server(), 3478); }, std::chrono::seconds(15)))
      << coturn.log();

  NetnsGuard in_client(topo.client());
  ASSERT_TRUE(in_client.ok());
  UniqueFd listener = listen_tcp(Topology::kClientIp, 3478);
  ASSERT_GE(listener.get(), 0);
  for (bool send_indications : {false, true}) {
    SCOPED_TRACE(send_indications ? "Send/Data indications" : "channels");
    Process& client = topo.spawn(
        topo.client(),
        std::string("turnutils_uclient -t -c -n 20 -l 200 -m 1 -u alice -w wirebump-secret "
                    "-e 192.0.2.2 -r 3480 -p 3478 ") +
            (send_indications ? "-s " : "") + "192.0.2.1",
        send_indications ? "uclient-send" : "uclient-channel");
    // turnutils_uclient opens two TCP connections; the allocation is made on one of them.
    std::vector<std::unique_ptr<inspect::Inspector>> inspectors;
    auto make = [] { return std::move(inspect::make_inspector("turn", {})).value(); };
    EXPECT_EQ(relay_many(listener.get(), Topology::kServerIp, 3478, make, 2,
                         std::chrono::seconds(40), inspectors),
              "");
    ASSERT_EQ(client.wait(std::chrono::seconds(15)), 0) << client.log();
    EXPECT_NE(client.log().find("Total lost packets 0 (0.000000%)"), std::string::npos)
        << client.log();
    inspect::Inspector* inspector = nullptr;
    for (const auto& each : inspectors) {
      EXPECT_EQ(each->detail()["errors"], 0) << each->detail().dump(2);
      if (each->detail().contains("allocation")) inspector = each.get();
    }
    ASSERT_NE(inspector, nullptr);

    nlohmann::json detail = inspector->detail();
    SCOPED_TRACE(detail.dump(2));
    EXPECT_EQ(detail["dialect"], "rfc5766");
    EXPECT_EQ(detail["errors"], 0);
    EXPECT_EQ(detail["last_error_code"], 401);  // the first Allocate is challenged
    EXPECT_EQ(detail["username"], "alice");
    std::string relayed = detail["allocation"]["relayed"];
    EXPECT_EQ(relayed.rfind("192.0.2.2:", 0), 0u);
    int port = std::stoi(relayed.substr(10));
    EXPECT_GE(port, 49152);
    EXPECT_LE(port, 49452);
    EXPECT_EQ(detail["allocation"]["reflexive"].get<std::string>().rfind("192.0.2.1:", 0), 0u);
    EXPECT_GT(detail["allocation"]["lifetime"].get<int>(), 0);
    EXPECT_EQ(detail["permissions"], nlohmann::json::array({"192.0.2.2"}));
    if (!send_indications) {
      // Channels were bound to the echo peer (uclient binds one per RTP/RTCP pair address).
      bool echo_peer = false;
      for (const auto& [number, peer] : detail["channels"].items()) {
        EXPECT_GE(std::stoi(number), 0x4000);
        echo_peer = echo_peer || peer == "192.0.2.2:3480";
      }
      EXPECT_TRUE(echo_peer);
    }
    // 20 messages of 200 bytes to the echo peer, and all of them back.
    EXPECT_EQ(detail["peers"]["192.0.2.2:3480"]["bytes_to_peer"], 4000);
    EXPECT_EQ(detail["peers"]["192.0.2.2:3480"]["bytes_from_peer"], 4000);
  }
}

}  // namespace
}  // namespace wb::test
