#include "agent/control/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "agent/common/log.h"
#include "agent/control/listen_socket.h"

namespace wb::control {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBacklog = 32;
constexpr std::size_t kReadChunk = 16 * 1024;

}  // namespace

struct ControlServer::Client {
  UniqueFd fd;
  std::string in;   // bytes received, not yet a complete line
  std::string out;  // response bytes not yet written
  std::size_t out_off = 0;
  bool close_after_write = false;
  bool closed = false;
  Clock::time_point deadline;
};

ControlServer::ControlServer(ServerOptions options) : options_(std::move(options)) {
  handle("ping", [](const nlohmann::json&) -> Result<nlohmann::json> {
    return nlohmann::json{{"pong", true}, {"pid", ::getpid()}};
  });
  handle("commands", [this](const nlohmann::json&) -> Result<nlohmann::json> {
    std::lock_guard lock(handlers_mu_);
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, handler] : handlers_) names.push_back(name);
    return nlohmann::json{{"commands", names}};
  });
}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::handle(std::string cmd, Handler handler) {
  std::lock_guard lock(handlers_mu_);
  handlers_[std::move(cmd)] = std::move(handler);
}

Status ControlServer::start() {
  if (running()) return make_error(std::errc::operation_in_progress, "control server already runs");
  WB_TRY_ASSIGN(auto ls, listen_control_socket(options_.socket_path, kBacklog));
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) {
    unlink_if_ours(options_.socket_path, ls.dev, ls.ino);
    return errno_error("eventfd for the control thread");
  }
  listen_fd_ = std::move(ls.fd);
  sock_dev_ = ls.dev;
  sock_ino_ = ls.ino;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
  spdlog::info("control socket listening on {}", options_.socket_path.string());
  return {};
}

void ControlServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof(one));
  thread_.join();
  clients_.clear();  // closes every client
  listen_fd_.reset();
  wake_fd_.reset();
  unlink_if_ours(options_.socket_path, sock_dev_, sock_ino_);
}

Response ControlServer::dispatch(const Request& request) {
  Handler handler;
  {
    std::lock_guard lock(handlers_mu_);
    auto it = handlers_.find(request.cmd);
    if (it == handlers_.end()) {
      return Response::failure(code::kUnknownCommand,
                               "unknown command \"" + request.cmd + "\" (this agent does not " +
                                   "implement it; `commands` lists what it does)");
    }
    handler = it->second;
  }
  requests_++;
  // Handlers use nlohmann::json, which throws on type mismatches: caught here, at the boundary.
  try {
    auto result = handler(request.args);
    if (!result.ok()) {
      const auto& e = result.error();
      return Response::failure(std::string(code_for(e.code)),
                               e.context.empty() ? e.code.message() : e.context);
    }
    return Response::success(std::move(result).value());
  } catch (const nlohmann::json::exception& e) {
    return Response::failure(code::kInvalidArgument,
                             request.cmd + ": bad arguments: " + std::string(e.what()));
  } catch (const std::exception& e) {
    return Response::failure(code::kFailed, request.cmd + ": " + std::string(e.what()));
  }
}

void ControlServer::queue_response(Client& client, const Response& response, bool close_after) {
  client.out += encode(response);
  client.close_after_write = client.close_after_write || close_after;
  client.deadline = Clock::now() + options_.client_timeout;
}

// Best effort: one non-blocking write of a short refusal, then close.
void ControlServer::refuse(UniqueFd fd, const Response& response) {
  refused_++;
  auto line = encode(response);
  [[maybe_unused]] auto n = ::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void ControlServer::accept_clients() {
  for (;;) {
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN or a transient error: poll again
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      refuse(std::move(fd), Response::failure(code::kForbidden, "cannot identify the peer"));
      continue;
    }
    if (cred.uid != options_.allowed_uid) {
      spdlog::warn("control socket: refused peer pid {} uid {}", cred.pid, cred.uid);
      refuse(std::move(fd),
             Response::failure(code::kForbidden,
                               "permission denied: the control socket serves only uid " +
                                   std::to_string(options_.allowed_uid) + " (root); peer uid " +
                                   std::to_string(cred.uid)));
      continue;
    }
    if (clients_.size() >= options_.max_clients) {
      refuse(std::move(fd), Response::failure(code::kBusy, "too many control clients; retry"));
      continue;
    }
    Client client;
    client.fd = std::move(fd);
    client.deadline = Clock::now() + options_.client_timeout;
    clients_.push_back(std::move(client));
  }
}

// Reads what is there; answers every complete line. Returns false when the client is done.
bool ControlServer::on_readable(Client& client) {
  char buf[kReadChunk];
  ssize_t n = ::recv(client.fd.get(), buf, sizeof(buf), 0);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) {
    // EOF: a last request without '\n' is still answered, then the connection closes.
    if (client.in.empty() || !client.out.empty()) return !client.out.empty();
    std::string line = std::move(client.in);
    client.in.clear();
    auto request = parse_request(line);
    queue_response(client,
                   request ? dispatch(*request)
                           : Response::failure(code::kBadRequest, request.error().context),
                   true);
    return true;
  }
  client.in.append(buf, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (;;) {
    auto nl = client.in.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(client.in.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (line.size() > options_.max_request_bytes) {
      queue_response(client,
                     Response::failure(code::kTooLarge,
                                       "request larger than " +
                                           std::to_string(options_.max_request_bytes) + " bytes"),
                     true);
      return true;
    }
    if (line.empty()) continue;
    auto request = parse_request(line);
    if (!request) {
      queue_response(client, Response::failure(code::kBadRequest, request.error().context), true);
      return true;
    }
    queue_response(client, dispatch(*request), false);
  }
  client.in.erase(0, start);
  if (client.in.size() > options_.max_request_bytes) {
    queue_response(client,
                   Response::failure(code::kTooLarge,
                                     "request larger than " +
                                         std::to_string(options_.max_request_bytes) + " bytes"),
                   true);
  }
  return true;
}

bool ControlServer::on_writable(Client& client) {
  while (client.out_off < client.out.size()) {
    ssize_t n = ::send(client.fd.get(), client.out.data() + client.out_off,
                       client.out.size() - client.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    client.out_off += static_cast<std::size_t>(n);
  }
  client.out.clear();
  client.out_off = 0;
  if (client.close_after_write) return false;
  client.deadline = Clock::now() + options_.client_timeout;  // idle time for the next request
  return true;
}

void ControlServer::loop() {
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    // At the client limit the listener still accepts, to answer "busy" rather than hang callers.
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    auto now = Clock::now();
    auto next = now + std::chrono::hours(1);
    for (auto& c : clients_) {
      short events = c.out.empty() ? POLLIN : POLLOUT;
      if (c.close_after_write && c.out.empty()) events = 0;
      fds.push_back({c.fd.get(), events, 0});
      next = std::min(next, c.deadline);
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    int rc = ::poll(fds.data(), fds.size(),
                    static_cast<int>(std::clamp<long long>(wait + 1, 0, 3600000)));
    if (rc < 0 && errno != EINTR) {
      spdlog::error("control socket: poll failed: {}", std::strerror(errno));
      return;
    }
    if (stopping_) break;
    if (fds[1].revents & POLLIN) accept_clients();
    now = Clock::now();
    for (std::size_t i = 0; i < clients_.size() && i + 2 < fds.size(); ++i) {
      auto& c = clients_[i];
      auto revents = fds[i + 2].revents;
      bool keep = true;
      if (revents & POLLOUT)
        keep = on_writable(c);
      else if (revents & POLLIN)
        keep = on_readable(c);
      else if (revents & (POLLERR | POLLHUP | POLLNVAL))
        keep = false;
      if (keep && !c.out.empty() && c.out_off == 0) keep = on_writable(c);  // answer at once
      if (keep && Clock::now() > c.deadline) keep = false;                  // slow or silent client
      if (keep && c.close_after_write && c.out.empty()) keep = false;
      c.closed = !keep;
    }
    std::erase_if(clients_, [](const Client& c) { return c.closed; });
  }
}

}  // namespace wb::control
