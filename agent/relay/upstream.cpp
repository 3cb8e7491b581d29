#include "agent/relay/upstream.h"

namespace wb::relay {

UpstreamResolver transparent_upstream() {
  return [](const ConnectionInfo& info) -> Result<UpstreamPlan> {
    if (info.original_destination.empty() || info.client.empty()) {
      return make_error(std::errc::address_not_available, "no original destination");
    }
    return UpstreamPlan{info.original_destination, info.client.with_port(0), true};
  };
}

UpstreamResolver fixed_upstream(session::Endpoint destination) {
  return [destination](const ConnectionInfo&) -> Result<UpstreamPlan> {
    return UpstreamPlan{destination, {}, false};
  };
}

}  // namespace wb::relay
