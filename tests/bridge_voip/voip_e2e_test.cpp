// SIP over TLS, TURN over TLS and MS-TURN through the bridge with interception on, with the real
// peers of tests/peers: kamailio + SIPp (through stunnel, trusting only the wirebump issuer),
// coturn + turnutils_uclient, and the MS-TURN test peer. Each peer must succeed, and `wirebump
// sessions --protocol P --json`, asked while the session is alive, must show what it did.
#include <gtest/gtest.h>

#include "tests/bridge_voip/voip_bridge.h"
#include "tests/peers/peer_env.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

// The SIPp UAC holds its connection this long after the BYE, so the session is still alive when
// the test asks the agent about it.
constexpr int kHoldMs = 6000;

class VoipThroughTheBridge : public VoipBridge {
 protected:
  // kamailio up on every port the tests use.
  void start_registrar() {
    Process& kamailio = start_kamailio();
    ASSERT_TRUE(eventually(
        [&] {
          return listening(topo(), topo().server(), 5061) &&
                 listening(topo(), topo().server(), 443) &&
                 listening(topo(), topo().server(), 5060);
        },
        15s))
        << kamailio.log();
    kamailio_ = &kamailio;
  }

  // SIPp registers and calls over TLS to `port` through the bridge; the agent must show a SIPS
  // session with the registration and the completed dialog, and SIPp must report success.
  void register_and_call(int port) {
    SCOPED_TRACE("TLS port " + std::to_string(port));
    const std::string suffix = std::to_string(port) + "-" + std::to_string(++calls_);
    Process& uas = start_uas("sipp-uas-" + suffix);
    ASSERT_TRUE(eventually([&] { return listening(topo(), topo().server(), 5070); })) << uas.log();
    Process& uac = start_uac(port, kHoldMs, "sipp-uac-" + suffix);

    nlohmann::json session = wait_session(
        "sips",
        [&](const nlohmann::json& s) {
          nlohmann::json d = inspector_detail(s);
          return server_port(s) == port && d.contains("registration") && d.contains("dialogs") &&
                 d["dialogs"].is_array() && !d["dialogs"].empty() &&
                 d["dialogs"][0].value("state", "") == "terminated";
        },
        25s);
    ASSERT_FALSE(session.is_null()) << all_sessions() << "\nuac:\n"
                                    << uac.log() << "\nkamailio:\n"
                                    << kamailio_->log() << "\nagent:\n"
                                    << agent().agent()->log();
    SCOPED_TRACE(session.dump(2));
    EXPECT_EQ(session["protocol"], "sips");
    EXPECT_EQ(session["verdict"], "intercept");
    EXPECT_EQ(session["client"].get<std::string>().rfind("192.0.2.1:", 0), 0u);
    EXPECT_EQ(session["server"], "192.0.2.2:" + std::to_string(port));
    nlohmann::json detail = inspector_detail(session);
    EXPECT_EQ(detail["registration"]["aor"], "alice@example.test");
    EXPECT_EQ(detail["registration"]["expires"], 600);
    EXPECT_EQ(detail["malformed"], 0);
    for (const char* method : {"REGISTER", "INVITE", "ACK", "BYE"})
      EXPECT_EQ(detail["methods"][method], 1) << method;
    nlohmann::json dialog = detail["dialogs"][0];
    EXPECT_EQ(dialog["to"], "bob@example.test");
    EXPECT_EQ(dialog["final_status"], 200);
    EXPECT_EQ(dialog["media"][0], "audio 6000 RTP/AVP 0");
    EXPECT_NE(session["inspector"]["brief"].get<std::string>().find("reg=registered"),
              std::string::npos);
    // Never counted as HTTPS: SIP inside TLS on 443 is SIPS.
    for (const auto& s : sessions("https")) EXPECT_NE(server_port(s), port) << s.dump();

    EXPECT_EQ(uac.wait(30s), 0) << uac.log();
    EXPECT_EQ(uas.wait(15s), 0) << uas.log();
  }

  Process* kamailio_ = nullptr;
  int calls_ = 0;
};

TEST_F(VoipThroughTheBridge, SipsRegisterAndCallOn5061And443) {
  start_registrar();
  register_and_call(5061);
  register_and_call(443);
}

// PROTOCOL-FACTS Condition 1: 5061 is blocked on the client's network, so the client reaches
// its SIP server over TLS on 443; the bridge must still see SIPS there, not HTTPS.
TEST_F(VoipThroughTheBridge, SipsOn443With5061BlockedInTheClientNamespace) {
  start_registrar();
  auto block = agent().client(
      "nft add table inet wbt_voip && "
      "nft add chain inet wbt_voip out '{ type filter hook output priority 0; }' && "
      "nft add rule inet wbt_voip out tcp dport 5061 drop");
  ASSERT_EQ(block.exit_code, 0) << block.err;
  auto blocked = agent().client("socat -T 2 /dev/null TCP4:192.0.2.2:5061,connect-timeout=2", 10s);
  ASSERT_NE(blocked.exit_code, 0) << "5061 is still reachable";
  register_and_call(443);
}

TEST_F(VoipThroughTheBridge, TurnOverTlsOn443WithCoturn) {
  Process& coturn = topo().spawn(
      topo().server(), "exec turnserver -c " + instantiate(topo(), "turnserver.conf"), "coturn");
  topo().spawn(topo().server(), "exec turnutils_peer -L 192.0.2.2 -p 3480", "turnutils-peer");
  ASSERT_TRUE(eventually([&] { return listening(topo(), topo().server(), 443); }, 15s))
      << coturn.log();
  // -E: the client verifies the server certificate against the wirebump issuer only.
  // 150 messages 20 ms apart keep the allocation alive for about 3 s.
  Process& client = topo().spawn(
      topo().client(),
      "exec turnutils_uclient -t -S -E " + shell_quote(issuer()) +
          " -p 443 -u alice -w wirebump-secret -e 192.0.2.2 -r 3480 -n 150 -z 20 -l 200 -m 1 "
          "-c 192.0.2.2",
      "uclient");
  nlohmann::json session = wait_session(
      "turn",
      [](const nlohmann::json& s) {
        nlohmann::json d = inspector_detail(s);
        return d.contains("allocation") && d.contains("peers") &&
               d["peers"].contains("192.0.2.2:3480") &&
               d["peers"]["192.0.2.2:3480"].value("bytes_to_peer", 0) > 0;
      },
      25s);
  ASSERT_FALSE(session.is_null()) << all_sessions() << "\nclient:\n"
                                  << client.log() << "\ncoturn:\n"
                                  << coturn.log() << "\nagent:\n"
                                  << agent().agent()->log();
  SCOPED_TRACE(session.dump(2));
  EXPECT_EQ(session["verdict"], "intercept");
  EXPECT_EQ(server_port(session), 443);
  nlohmann::json detail = inspector_detail(session);
  EXPECT_EQ(detail["username"], "alice");
  EXPECT_EQ(detail["errors"], 0);
  std::string relayed = detail["allocation"]["relayed"];
  EXPECT_EQ(relayed.rfind("192.0.2.2:", 0), 0u);
  EXPECT_EQ(detail["allocation"]["reflexive"].get<std::string>().rfind("192.0.2.1:", 0), 0u);
  EXPECT_GT(detail["allocation"]["lifetime"].get<int>(), 0);

  ASSERT_EQ(client.wait(60s), 0) << client.log();
  EXPECT_NE(client.log().find("Total lost packets 0 (0.000000%)"), std::string::npos)
      << client.log();
}

TEST_F(VoipThroughTheBridge, MsTurnOn443IsRelayedWithItsAllocation) {
  const std::string peer = binary_path("tests/peers/wb_ms_turn_peer");
  Process& server =
      topo().spawn(topo().server(), "exec " + peer + " server --listen 192.0.2.2:443", "ms-turn");
  ASSERT_TRUE(eventually([&] { return listening(topo(), topo().server(), 443); })) << server.log();
  Process& client =
      topo().spawn(topo().client(),
                   "exec " + peer + " client --connect 192.0.2.2:443 --bytes 200000 --hold-ms 6000",
                   "ms-turn-client");
  nlohmann::json session = wait_session(
      "ms-turn",
      [](const nlohmann::json& s) {
        nlohmann::json d = inspector_detail(s);
        return d.contains("peers") && d["peers"].contains("203.0.113.9:3480") &&
               d["peers"]["203.0.113.9:3480"].value("bytes_from_peer", 0) == 200000;
      },
      20s);
  ASSERT_FALSE(session.is_null()) << all_sessions() << "\nclient:\n"
                                  << client.log() << "\nagent:\n"
                                  << agent().agent()->log();
  SCOPED_TRACE(session.dump(2));
  // Pseudo-TLS is not TLS: relayed as it is, never intercepted.
  EXPECT_EQ(session["verdict"], "relay");
  EXPECT_EQ(server_port(session), 443);
  nlohmann::json detail = inspector_detail(session);
  EXPECT_TRUE(detail["pseudo_tls"]["client"].get<bool>());
  EXPECT_TRUE(detail["pseudo_tls"]["server"].get<bool>());
  EXPECT_EQ(detail["allocation"]["relayed"], "198.51.100.20:50000");
  EXPECT_EQ(detail["allocation"]["reflexive"].get<std::string>().rfind("192.0.2.1:", 0), 0u);
  EXPECT_EQ(detail["allocation"]["lifetime"], 600);
  EXPECT_EQ(detail["ms_version"], 2);
  EXPECT_EQ(detail["errors"], 0);
  EXPECT_EQ(detail["peers"]["203.0.113.9:3480"]["bytes_to_peer"], 200000);
  EXPECT_NE(session["inspector"]["brief"].get<std::string>().find("alloc=198.51.100.20:50000"),
            std::string::npos);

  ASSERT_EQ(client.wait(20s), 0) << client.log();
  EXPECT_NE(client.log().find("sent=200000 received=200000 ok"), std::string::npos);
}

}  // namespace
}  // namespace wb::test
