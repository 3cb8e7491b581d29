#include "agent/replay/kernel_replay.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace wb::replay {
namespace {

// A loopback listening socket: the classifier only needs a listener in its SOCKMAP to judge a
// SYN as STEER_SYN; in dry-run mode no connection is ever assigned to it.
Result<UniqueFd> loopback_listener(int family) {
  UniqueFd s(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return errno_error("socket");
  sockaddr_storage ss{};
  socklen_t len = sizeof(sockaddr_in);
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
    int on = 1;
    setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return errno_error("bind");
  if (listen(s.get(), 1) != 0) return errno_error("listen");
  return s;
}

Status configure(datapath::Datapath& dp, const config::Config& cfg) {
  WB_TRY_ASSIGN(wb_config kc, dp.config());
  kc.intercept_enabled = cfg.intercept ? 1 : 0;
  kc.block_quic = cfg.block_quic ? 1 : 0;
  kc.flags |= WB_CONFIG_DRY_RUN;
  WB_TRY(dp.set_config(kc));
  WB_TRY_ASSIGN(auto old_ports, dp.ports());
  for (std::uint16_t p : old_ports) WB_TRY(dp.del_port(p));
  for (std::uint16_t p : cfg.candidate_ports) WB_TRY(dp.add_port(p));
  for (auto [side, list] : {std::pair{datapath::Side::source, &cfg.bypass_src},
                            std::pair{datapath::Side::destination, &cfg.bypass_dst}}) {
    for (const config::Cidr& c : *list) {
      WB_TRY_ASSIGN(datapath::Cidr cidr, datapath::Cidr::parse(c.to_string()));
      WB_TRY(dp.add_bypass(side, cidr));
    }
  }
  return {};
}

}  // namespace

Result<KernelReplay> KernelReplay::open(const config::Config& cfg) {
  auto dp = datapath::Datapath::open_unpinned();
  if (!dp.ok()) return dp.error().wrap("load the classifier (needs root / CAP_BPF)");
  KernelReplay k(std::move(dp).value());
  if (auto st = configure(k.dp_, cfg); !st.ok()) return st.error().wrap("configure the classifier");
  for (int family : {AF_INET, AF_INET6}) {
    auto l = loopback_listener(family);
    Status registered = l.ok() ? k.dp_.set_listener(l->get()) : Status(l.error());
    if (!registered.ok()) {
      k.notes_.push_back(std::string(family == AF_INET ? "IPv4" : "IPv6") +
                         " listener unavailable (" + registered.error().message() +
                         "): SYNs of that family show as agent_down");
      continue;
    }
    (family == AF_INET ? k.listener_v4_ : k.listener_v6_) = std::move(l).value();
  }
  return k;
}

}  // namespace wb::replay
