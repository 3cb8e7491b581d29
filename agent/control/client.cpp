#include "agent/control/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "agent/common/unique_fd.h"

namespace wb::control {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

// Waits for `events` on fd until the deadline.
Status wait_for(int fd, short events, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    int ms = remaining_ms(deadline);
    if (ms == 0)
      return make_error(std::errc::timed_out, what + ": the agent did not answer in time");
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, ms);
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR) return errno_error(what);
  }
}

}  // namespace

bool is_no_agent(const Error& error) {
  return error.code == std::errc::no_such_file_or_directory ||
         error.code == std::errc::connection_refused;
}

Result<Response> call(const std::filesystem::path& socket_path, const Request& request,
                      const CallOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  const std::string where = "control socket " + socket_path.string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.native().empty() || socket_path.native().size() >= sizeof(addr.sun_path)) {
    return make_error(std::errc::filename_too_long, where + ": path too long");
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.native().size() + 1);

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  // A non-blocking unix connect fails with EAGAIN while the agent's backlog is full: retry.
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EAGAIN && errno != EINTR) return errno_error(where);
    if (remaining_ms(deadline) == 0) {
      return make_error(std::errc::timed_out, where + ": the agent's backlog stays full");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const std::string line = encode(request);
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN) {
      WB_TRY(wait_for(fd.get(), POLLOUT, deadline, where));
    } else if (errno != EINTR) {
      // The agent may have refused us (not root, busy) and closed: its reply explains why.
      break;
    }
  }

  std::string in;
  char buf[16 * 1024];
  for (;;) {
    if (auto nl = in.find('\n'); nl != std::string::npos) {
      return parse_response(std::string_view(in).substr(0, nl));
    }
    if (in.size() > options.max_response_bytes) {
      return make_error(
          std::errc::message_size,
          where + ": the reply exceeds " + std::to_string(options.max_response_bytes) + " bytes");
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      if (!in.empty()) return parse_response(in);
      return make_error(std::errc::connection_reset, where + ": the agent closed the connection");
    } else if (errno == EAGAIN) {
      WB_TRY(wait_for(fd.get(), POLLIN, deadline, where));
    } else if (errno != EINTR) {
      return errno_error(where);
    }
  }
}

}  // namespace wb::control
