// The VoIP e2e tests' fixture: the agent fixture (Topology + `wirebump run` in the bridge
// namespace) with interception on, the agent trusting the test CA that signed kamailio's and
// coturn's certificates, and clients trusting only the agent's own issuer (so a TLS client that
// succeeds did so through a forged certificate). Helpers query `wirebump sessions` while the
// peers' sessions are alive.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "tests/agent/agent_fixture.h"

namespace wb::test {

class VoipBridge : public ::testing::Test {
 protected:
  void SetUp() override;

  Topology& topo() { return agent_->topo(); }
  AgentFixture& agent() { return *agent_; }
  // The wirebump issuer (PEM) clients must trust; "" before SetUp found it.
  const std::string& issuer() const { return issuer_; }

  // kamailio (TCP 5060, TLS 5061 and 443) and a SIPp UAS on 5070, in the server namespace.
  Process& start_kamailio();
  Process& start_uas(const std::string& name);
  // SIPp through stunnel (TLS, trusting the issuer) in the client namespace, registering and
  // calling via server port `port`; holds the connection `hold_ms` after the BYE.
  Process& start_uac(int port, int hold_ms, const std::string& name);

  // `sessions --protocol P --json`'s list (empty on failure).
  nlohmann::json sessions(const std::string& protocol) const;
  // Polls (bounded) for a session of `protocol` that satisfies `pred`; null when none came.
  nlohmann::json wait_session(const std::string& protocol,
                              const std::function<bool(const nlohmann::json&)>& pred,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  // Every session the agent knows (for failure messages).
  std::string all_sessions() const;

 private:
  std::unique_ptr<AgentFixture> agent_;
  std::string issuer_;
};

// Server port of a session's "server" endpoint ("192.0.2.2:443" -> 443), -1 when malformed.
int server_port(const nlohmann::json& session);
// detail["inspector"]["detail"], or an empty object.
nlohmann::json inspector_detail(const nlohmann::json& session);

}  // namespace wb::test
