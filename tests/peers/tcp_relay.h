// Test helper: a tiny in-process TCP relay that feeds both directions of a live connection to an
// inspector, the way the agent will. Used to run real peers (the MS-TURN peer, SIPp + kamailio,
// turnutils_uclient + coturn) through the inspectors before the bridge exists. Sockets are made
// in the calling thread's network namespace (enter one with NetnsGuard first).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/common/unique_fd.h"
#include "inspectors/inspector.h"

namespace wb::test {

// A listening IPv4 TCP socket on ip:port, or an invalid fd (errno set).
UniqueFd listen_tcp(const std::string& ip, int port);

// Waits (up to `limit`) for one connection on `listener`, connects to upstream_ip:upstream_port
// and relays until both sides have closed or `limit` passes, feeding every chunk to `inspector`
// before forwarding it. Returns an empty string on success, else what went wrong.
std::string relay_one(int listener, const std::string& upstream_ip, int upstream_port,
                      inspect::Inspector& inspector, std::chrono::seconds limit);

// Like relay_one for clients that open several connections (turnutils_uclient does): relays
// them concurrently, each with a fresh inspector from `make`, until `connections` have come and
// gone or `limit` passes. The inspectors are appended to `out` in accept order.
std::string relay_many(int listener, const std::string& upstream_ip, int upstream_port,
                       const std::function<std::unique_ptr<inspect::Inspector>()>& make,
                       std::size_t connections, std::chrono::seconds limit,
                       std::vector<std::unique_ptr<inspect::Inspector>>& out);

}  // namespace wb::test
