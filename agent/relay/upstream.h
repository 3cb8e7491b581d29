// The "resolve destination / choose source" step of every connection, injectable so that tests on
// loopback (no BPF steering, no transparent routing) can relay to a fixed target.
#pragma once

#include <functional>

#include "agent/common/result.h"
#include "agent/relay/handler.h"
#include "agent/session/endpoint.h"

namespace wb::relay {

struct UpstreamPlan {
  session::Endpoint destination;  // where to connect
  session::Endpoint source;       // bind() address first (port 0: the kernel picks); empty: none
  bool transparent = false;       // IP_TRANSPARENT / IPV6_TRANSPARENT before bind (foreign source)
};

// Called on the worker thread at connect_upstream() time; must be thread-safe.
using UpstreamResolver = std::function<Result<UpstreamPlan>(const ConnectionInfo&)>;

// Production: from the client's own address (port chosen at connect time) to the original
// destination, so the server sees the client and the bridge stays invisible.
UpstreamResolver transparent_upstream();

// Tests and benchmarks: always `destination`, from an ordinary local address.
UpstreamResolver fixed_upstream(session::Endpoint destination);

}  // namespace wb::relay
