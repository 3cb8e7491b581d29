// The agent e2e fixture: a Topology, nginx (HTTPS with a certificate made at test time, plain
// HTTP) in the server namespace, and `wirebump run -c CONFIG` in the bridge namespace (nsenter,
// so bpffs pins stay visible) with its own pin, run and state directories. Everything it starts
// is stopped, and `wirebump down` plus a pin sweep run, even when an assertion failed.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/topology.h"

namespace wb::test {

class AgentFixture {
 public:
  static constexpr int kHttpPort = 8080;  // plain HTTP on a candidate port
  static constexpr int kSinkPort = 9001;  // socat upload sink, candidate
  static constexpr int kHalfClosePort = 5061;
  static constexpr int kPlainPort = 7000;  // not a candidate: always bypassed

  AgentFixture();
  ~AgentFixture();

  Topology& topo() { return topo_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& pin_dir() const { return pin_dir_; }
  std::string www() const { return topo_.dir() + "/www"; }

  // Empty string on success, else what failed.
  std::string start_servers();
  // nginx in the server namespace with `http_body` inside its http block (the common preamble,
  // temp paths under the topology dir, is written here); waits until TCP `wait_port` listens.
  std::string start_nginx(const std::string& http_body, int wait_port, int workers = 1,
                          int connections = 256);
  std::string start_agent();  // waits until the control socket answers
  Process* agent() { return agent_; }

  // `wirebump ARGS -c CONFIG` in the bridge namespace.
  CommandResult cli(const std::string& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  nlohmann::json status() const;  // `status --json`, null on failure
  // Client-side command (ip netns exec in the client namespace).
  CommandResult client(const std::string& command,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  std::string access_log() const;
  // Relay connections accepted so far (status relay.accepted), -1 without an agent.
  long accepted() const;

 private:
  Topology topo_;
  std::string config_path_;
  std::string pin_dir_;
  Process* agent_ = nullptr;
  int starts_ = 0;
};

// One nginx `server` block per name on 443 with TLS, certificate and key from
// <dir>/pki/<name>.pem and .key, serving <dir>/www: nginx picks the block by SNI.
std::string sni_server_blocks(const std::string& dir, const std::vector<std::string>& names);

// sha256 of a file as hex, or "" when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace wb::test
