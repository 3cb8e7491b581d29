// Transparent listening sockets for the relay, and the socket options of accepted / upstream
// sockets.
#pragma once

#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"
#include "agent/session/endpoint.h"

namespace wb::relay {

struct ListenerOptions {
  bool transparent = true;  // IP_TRANSPARENT / IPV6_TRANSPARENT
  bool reuseport = true;    // SO_REUSEPORT (one socket per worker in one group)
  unsigned backlog = 4096;
};

// `count` listeners on `address` (count > 1 needs reuseport). With port 0 the first socket picks
// the port and the others join it. Returns the sockets and the bound address.
struct ListenerGroup {
  std::vector<UniqueFd> fds;
  session::Endpoint address;
};
Result<ListenerGroup> open_listeners(const session::Endpoint& address, unsigned count,
                                     const ListenerOptions& options);

// Local and peer address of a connected socket.
Result<session::Endpoint> local_address(int fd);
Result<session::Endpoint> peer_address(int fd);

// A non-blocking upstream socket: optionally transparent and bound to `source` (port 0: chosen at
// connect time with IP_BIND_ADDRESS_NO_PORT, so many sessions from one client share no port
// space with each other).
Result<UniqueFd> open_upstream_socket(const session::Endpoint& destination,
                                      const session::Endpoint& source, bool transparent);

// SO_LINGER {on, 0}: the next close() sends a RST (reset propagation, refusals).
void set_reset_on_close(int fd);

}  // namespace wb::relay
