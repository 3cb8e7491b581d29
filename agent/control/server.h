// The agent's control server: a root-only unix stream socket served by one dedicated thread
// (never a data-path thread). The daemon registers one handler per command name; each request
// line is dispatched to its handler on the control thread and answered with one response line.
//
//   wb::control::ControlServer server({.socket_path = cfg.control_socket()});
//   server.handle("ports.add", [&](const nlohmann::json& args) -> wb::Result<nlohmann::json> {
//     WB_TRY_ASSIGN(auto port, wb::control::arg_int(args, "port", 1, 65535));
//     ...
//     return nlohmann::json{{"ports", ...}};
//   });
//   WB_TRY(server.start());
//
// Handlers run one at a time and should return within milliseconds (they read tables, write
// maps); a slow or silent client never blocks the agent: every client has a deadline, sockets
// are non-blocking, requests and connections are bounded.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"
#include "agent/control/protocol.h"

namespace wb::control {

using Handler = std::function<Result<nlohmann::json>(const nlohmann::json& args)>;

struct ServerOptions {
  std::filesystem::path socket_path = kDefaultSocketPath;
  uid_t allowed_uid = 0;  // only this peer uid is served (SO_PEERCRED)
  // A client must send a complete request within this time of connecting (or of its previous
  // response), and read its response within it; otherwise it is disconnected.
  std::chrono::milliseconds client_timeout{5000};
  std::size_t max_request_bytes = kMaxRequestBytes;
  std::size_t max_clients = 16;  // further connections get a "busy" reply and are closed
};

class ControlServer {
 public:
  explicit ControlServer(ServerOptions options = {});
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Registers (or replaces) the handler for `cmd`. Thread-safe; allowed before and after start().
  // Built in: "ping" -> {"pong": true, "pid": N}, "commands" -> {"commands": [names...]}.
  void handle(std::string cmd, Handler handler);

  // Creates the socket (see listen_socket.h) and starts the control thread.
  Status start();
  // Closes every client and the listener, removes the socket file (if still ours), joins.
  // Idempotent.
  void stop();

  bool running() const { return thread_.joinable(); }
  const std::filesystem::path& socket_path() const { return options_.socket_path; }

  // Counters for status and tests.
  std::uint64_t requests_served() const { return requests_.load(); }
  std::uint64_t clients_refused() const { return refused_.load(); }

  // Runs one request through the registered handlers (what the control thread does per line).
  Response dispatch(const Request& request);

 private:
  struct Client;
  void loop();
  void accept_clients();
  void refuse(UniqueFd fd, const Response& response);
  bool on_readable(Client& client);
  bool on_writable(Client& client);
  void queue_response(Client& client, const Response& response, bool close_after);

  ServerOptions options_;
  std::mutex handlers_mu_;
  std::map<std::string, Handler, std::less<>> handlers_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd: stop() wakes the poll loop
  dev_t sock_dev_ = 0;
  ino_t sock_ino_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::vector<Client> clients_;  // control thread only
  std::thread thread_;
};

}  // namespace wb::control
