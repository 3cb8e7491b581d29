#include "agent/relay/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <string>

namespace wb::relay {
namespace {

Status set_flag(int fd, int level, int name, const char* what) {
  const int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof(one)) != 0) return errno_error(what);
  return {};
}

Status set_transparent(int fd, bool v6) {
  return v6 ? set_flag(fd, SOL_IPV6, IPV6_TRANSPARENT, "setsockopt IPV6_TRANSPARENT")
            : set_flag(fd, SOL_IP, IP_TRANSPARENT, "setsockopt IP_TRANSPARENT");
}

}  // namespace

Result<ListenerGroup> open_listeners(const session::Endpoint& address, unsigned count,
                                     const ListenerOptions& options) {
  if (address.empty()) return make_error(std::errc::invalid_argument, "listener: no address");
  if (count > 1 && !options.reuseport) {
    return make_error(std::errc::invalid_argument, "listener: several sockets need SO_REUSEPORT");
  }
  ListenerGroup group;
  group.address = address;
  const std::string where = "listener " + address.to_string();
  for (unsigned i = 0; i < count; ++i) {
    UniqueFd fd(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error(where + ": socket");
    WB_TRY(set_flag(fd.get(), SOL_SOCKET, SO_REUSEADDR, "setsockopt SO_REUSEADDR"));
    if (options.reuseport) {
      WB_TRY(set_flag(fd.get(), SOL_SOCKET, SO_REUSEPORT, "setsockopt SO_REUSEPORT"));
    }
    if (address.is_v6()) WB_TRY(set_flag(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"));
    if (options.transparent) {
      if (auto status = set_transparent(fd.get(), address.is_v6()); !status.ok()) {
        return status.error().wrap(where);
      }
    }
    if (bind(fd.get(), group.address.sockaddr_ptr(), group.address.length()) != 0) {
      return errno_error(where + ": bind");
    }
    if (listen(fd.get(), static_cast<int>(options.backlog)) != 0) {
      return errno_error(where + ": listen");
    }
    if (i == 0) {
      WB_TRY_ASSIGN(group.address, local_address(fd.get()));  // the port the kernel picked
    }
    group.fds.push_back(std::move(fd));
  }
  return group;
}

Result<session::Endpoint> local_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return errno_error("getsockname");
  }
  return session::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

Result<session::Endpoint> peer_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return errno_error("getpeername");
  }
  return session::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), length);
}

Result<UniqueFd> open_upstream_socket(const session::Endpoint& destination,
                                      const session::Endpoint& source, bool transparent) {
  UniqueFd fd(socket(destination.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("upstream socket");
  WB_TRY(set_flag(fd.get(), IPPROTO_TCP, TCP_NODELAY, "setsockopt TCP_NODELAY"));
  if (transparent) WB_TRY(set_transparent(fd.get(), destination.is_v6()));
  if (!source.empty()) {
    if (source.port() == 0) {
      WB_TRY(set_flag(fd.get(), SOL_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT"));
    }
    if (bind(fd.get(), source.sockaddr_ptr(), source.length()) != 0) {
      return errno_error("upstream bind " + source.to_string());
    }
  }
  return fd;
}

void set_reset_on_close(int fd) {
  const linger option{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
}

}  // namespace wb::relay
