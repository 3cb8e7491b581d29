#include "tests/bridge_voip/voip_bridge.h"

#include <fstream>

#include "tests/peers/peer_env.h"

namespace wb::test {

void VoipBridge::SetUp() {
  agent_ = std::make_unique<AgentFixture>();
  ASSERT_TRUE(topo().ok()) << topo().error();
  // One CA signs every server certificate here (kamailio and coturn use the same files).
  ASSERT_TRUE(make_certs(topo(), "sip.example.test"));
  {
    std::ofstream config(agent().config_path(), std::ios::app);
    config << "trust_store = \"" << topo().dir() << "/ca.pem\"\nintercept = true\n";
  }
  std::string error = agent().start_agent();
  ASSERT_EQ(error, "");
  const std::string state = topo().dir() + "/state";
  ASSERT_TRUE(eventually(
      [&] {
        auto found = run("find " + shell_quote(state) + " -name issuer.crt | head -1");
        if (found.exit_code != 0 || found.out.empty()) return false;
        issuer_ = found.out.substr(0, found.out.find('\n'));
        return true;
      },
      std::chrono::seconds(20)))
      << "no issuer.crt under " << state << "\n"
      << agent().agent()->log();
}

Process& VoipBridge::start_kamailio() {
  return wb::test::start_kamailio(topo());
}

Process& VoipBridge::start_uas(const std::string& name) {
  return topo().spawn(topo().server(),
                      "cd " + topo().dir() + " && exec sipp -sf " + peer_file("uas.xml") +
                          " -t t1 -i 192.0.2.2 -p 5070 -m 1 -nostdin -timeout 30s",
                      name);
}

Process& VoipBridge::start_uac(int port, int hold_ms, const std::string& name) {
  return topo().spawn(topo().client(),
                      "cd " + topo().dir() + " && exec " + peer_file("sipp_tls.sh") +
                          " 192.0.2.2:" + std::to_string(port) + " " + shell_quote(issuer_) +
                          " sip.example.test " + peer_file("uac_register_call.xml") + " -d " +
                          std::to_string(hold_ms),
                      name);
}

nlohmann::json VoipBridge::sessions(const std::string& protocol) const {
  auto r = agent_->cli("sessions --protocol " + protocol + " --json", std::chrono::seconds(10));
  if (r.exit_code != 0) return nlohmann::json::array();
  auto parsed = nlohmann::json::parse(r.out, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("sessions") || !parsed["sessions"].is_array())
    return nlohmann::json::array();
  return parsed["sessions"];
}

nlohmann::json VoipBridge::wait_session(const std::string& protocol,
                                        const std::function<bool(const nlohmann::json&)>& pred,
                                        std::chrono::milliseconds timeout) const {
  nlohmann::json hit;
  eventually(
      [&] {
        for (const auto& s : sessions(protocol)) {
          if (pred(s)) {
            hit = s;
            return true;
          }
        }
        return false;
      },
      timeout);
  return hit;
}

std::string VoipBridge::all_sessions() const {
  auto r = agent_->cli("sessions --json", std::chrono::seconds(10));
  return "sessions: " + r.out + r.err;
}

int server_port(const nlohmann::json& session) {
  std::string server = session.value("server", "");
  auto colon = server.rfind(':');
  if (colon == std::string::npos) return -1;
  try {
    return std::stoi(server.substr(colon + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

nlohmann::json inspector_detail(const nlohmann::json& session) {
  if (!session.contains("inspector") || !session["inspector"].contains("detail") ||
      !session["inspector"]["detail"].is_object())
    return nlohmann::json::object();
  return session["inspector"]["detail"];
}

}  // namespace wb::test
