// Policy, listener, counters and flows: reads and writes of the pinned maps (single-frame
// program runs are in test_run.cpp).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/datapath/datapath.h"
#include "agent/datapath/datapath_impl.h"

namespace wb::datapath {
namespace {

// Visits every key of a hash/LPM map (bounded: a map changing underneath cannot loop us).
template <class Key, class Fn>
Status for_each_key(int fd, std::size_t bound, Fn&& fn) {
  Key key{};
  Key next{};
  const Key* prev = nullptr;
  for (std::size_t i = 0; i <= bound; ++i) {
    if (bpf_map_get_next_key(fd, prev, &next) != 0) {
      if (errno == ENOENT) return {};
      return errno_error("iterate map");
    }
    WB_TRY(fn(next));
    key = next;
    prev = &key;
  }
  return {};
}

Status update(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) return errno_error(what);
  return {};
}

Status remove(int fd, const void* key, const char* what) {
  if (bpf_map_delete_elem(fd, key) != 0 && errno != ENOENT) return errno_error(what);
  return {};
}

const char* lpm_map(Side side, int family) {
  if (side == Side::source) return family == AF_INET ? WB_MAP_SRC_V4 : WB_MAP_SRC_V6;
  return family == AF_INET ? WB_MAP_DST_V4 : WB_MAP_DST_V6;
}

// Both LPM key layouts: prefixlen, then the address bytes.
struct LpmKey {
  __u32 prefixlen;
  __u8 addr[16];
};
std::size_t lpm_key_size(int family) {
  return family == AF_INET ? sizeof(wb_lpm_v4) : sizeof(wb_lpm_v6);
}

template <std::size_t N>
Status sum_percpu(int fd, std::array<wb_counter, N>& out) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return bpf_error(cpus, "count CPUs");
  std::vector<wb_counter> values(static_cast<std::size_t>(cpus));
  for (__u32 i = 0; i < N; ++i) {
    if (bpf_map_lookup_elem(fd, &i, values.data()) != 0) return errno_error("read counters");
    out[i] = {};
    for (const wb_counter& v : values) {
      out[i].packets += v.packets;
      out[i].bytes += v.bytes;
    }
  }
  return {};
}

}  // namespace

Status Datapath::set_config(const wb_config& config) {
  __u32 zero = 0;
  return update(impl_->map_fd(WB_MAP_CONFIG), &zero, &config, "write config");
}

Result<wb_config> Datapath::config() const {
  __u32 zero = 0;
  wb_config config{};
  if (bpf_map_lookup_elem(impl_->map_fd(WB_MAP_CONFIG), &zero, &config) != 0)
    return errno_error("read config");
  return config;
}

Status Datapath::set_intercept(bool enabled) {
  WB_TRY_ASSIGN(wb_config config, this->config());
  config.intercept_enabled = enabled ? 1 : 0;
  return set_config(config);
}

Status Datapath::set_block_quic(bool enabled) {
  WB_TRY_ASSIGN(wb_config config, this->config());
  config.block_quic = enabled ? 1 : 0;
  return set_config(config);
}

Status Datapath::add_port(std::uint16_t port) {
  if (port == 0) return make_error(std::errc::invalid_argument, "candidate port 0");
  __u32 one = 1;
  return update(impl_->map_fd(WB_MAP_PORTS), &port, &one, "add candidate port");
}

Status Datapath::del_port(std::uint16_t port) {
  return remove(impl_->map_fd(WB_MAP_PORTS), &port, "remove candidate port");
}

Result<std::vector<std::uint16_t>> Datapath::ports() const {
  std::vector<std::uint16_t> out;
  WB_TRY(for_each_key<__u16>(impl_->map_fd(WB_MAP_PORTS), 1 << 16, [&](__u16 port) -> Status {
    out.push_back(port);
    return {};
  }));
  std::sort(out.begin(), out.end());
  return out;
}

Status Datapath::add_bypass(Side side, const Cidr& cidr) {
  LpmKey key{cidr.prefix_len, {}};
  std::memcpy(key.addr, cidr.addr.data(), cidr.family == AF_INET ? 4 : 16);
  __u32 one = 1;
  return update(impl_->map_fd(lpm_map(side, cidr.family)), &key, &one,
                ("add bypass " + cidr.str()).c_str());
}

Status Datapath::del_bypass(Side side, const Cidr& cidr) {
  LpmKey key{cidr.prefix_len, {}};
  std::memcpy(key.addr, cidr.addr.data(), cidr.family == AF_INET ? 4 : 16);
  return remove(impl_->map_fd(lpm_map(side, cidr.family)), &key,
                ("remove bypass " + cidr.str()).c_str());
}

Result<std::vector<Cidr>> Datapath::bypass(Side side) const {
  std::vector<Cidr> out;
  for (int family : {AF_INET, AF_INET6}) {
    int fd = impl_->map_fd(lpm_map(side, family));
    std::size_t size = lpm_key_size(family);
    WB_TRY(for_each_key<LpmKey>(fd, 1 << 16, [&](const LpmKey& key) -> Status {
      Cidr cidr;
      cidr.family = family;
      cidr.prefix_len = static_cast<std::uint8_t>(key.prefixlen);
      std::memcpy(cidr.addr.data(), key.addr, size - sizeof(__u32));
      out.push_back(cidr);
      return {};
    }));
  }
  return out;
}

namespace {

Status register_listener(const Datapath::Impl& impl, int fd, __u32 v4_slot, __u32 v6_slot) {
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
    return errno_error("listener socket family");
  __u32 slot = domain == AF_INET6 ? v6_slot : v4_slot;
  __u64 value = static_cast<__u64>(fd);
  return update(impl.map_fd(WB_MAP_LISTENER), &slot, &value,
                "register listener (must be a listening TCP socket)");
}

bool slot_filled(const Datapath::Impl& impl, __u32 slot) {
  __u64 cookie = 0;  // user space reads a SOCKMAP slot as the socket's cookie
  return bpf_map_lookup_elem(impl.map_fd(WB_MAP_LISTENER), &slot, &cookie) == 0;
}

}  // namespace

Status Datapath::set_listener(int fd) {
  return register_listener(*impl_, fd, WB_LISTENER_V4, WB_LISTENER_V6);
}

Status Datapath::set_crl_listener(int fd) {
  return register_listener(*impl_, fd, WB_LISTENER_CRL_V4, WB_LISTENER_CRL_V6);
}

Status Datapath::clear_listener() {
  int fd = impl_->map_fd(WB_MAP_LISTENER);
  for (__u32 slot = 0; slot < WB_LISTENER_SLOTS; ++slot) {
    // An empty SOCKMAP slot answers delete with EINVAL, not ENOENT: only delete what is there.
    if (!slot_filled(*impl_, slot)) continue;
    WB_TRY(remove(fd, &slot, "unregister listener"));
  }
  return {};
}

bool Datapath::has_listener() const {
  return slot_filled(*impl_, WB_LISTENER_V4) || slot_filled(*impl_, WB_LISTENER_V6);
}

bool Datapath::has_crl_listener() const {
  return slot_filled(*impl_, WB_LISTENER_CRL_V4) || slot_filled(*impl_, WB_LISTENER_CRL_V6);
}

namespace {

wb_crl_key crl_key(const Cidr& host) {
  wb_crl_key key{};
  if (host.family == AF_INET) {
    key.addr[10] = key.addr[11] = 0xff;  // v4-mapped, like every address the programs see
    std::memcpy(key.addr + 12, host.addr.data(), 4);
  } else {
    std::memcpy(key.addr, host.addr.data(), 16);
  }
  return key;
}

Cidr crl_host_of(const wb_crl_key& key) {
  static constexpr __u8 kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  Cidr host;
  if (std::memcmp(key.addr, kMapped, sizeof(kMapped)) == 0) {
    host.family = AF_INET;
    host.prefix_len = 32;
    std::memcpy(host.addr.data(), key.addr + 12, 4);
  } else {
    host.family = AF_INET6;
    host.prefix_len = 128;
    std::memcpy(host.addr.data(), key.addr, 16);
  }
  return host;
}

}  // namespace

Status Datapath::set_crl_addresses(std::span<const Cidr> hosts) {
  if (hosts.size() > WB_CRL_ADDR_MAX) {
    return make_error(std::errc::invalid_argument,
                      "CRL host has " + std::to_string(hosts.size()) + " addresses (at most " +
                          std::to_string(WB_CRL_ADDR_MAX) + " are steered)");
  }
  for (const Cidr& host : hosts) {
    const bool whole = (host.family == AF_INET && host.prefix_len == 32) ||
                       (host.family == AF_INET6 && host.prefix_len == 128);
    if (!whole) {
      return make_error(std::errc::invalid_argument,
                        "CRL host address " + host.str() + " is not a single address");
    }
  }
  const int fd = impl_->map_fd(WB_MAP_CRL_ADDR);
  // Stale entries first (a restart with another crl_host), then the new set.
  WB_TRY_ASSIGN(auto present, crl_addresses());
  for (const Cidr& old : present) {
    if (std::find(hosts.begin(), hosts.end(), old) != hosts.end()) continue;
    wb_crl_key key = crl_key(old);
    WB_TRY(remove(fd, &key, ("remove CRL host address " + old.str()).c_str()));
  }
  __u32 one = 1;
  for (const Cidr& host : hosts) {
    wb_crl_key key = crl_key(host);
    WB_TRY(update(fd, &key, &one, ("steer CRL host address " + host.str()).c_str()));
  }
  return {};
}

Result<std::vector<Cidr>> Datapath::crl_addresses() const {
  std::vector<Cidr> out;
  WB_TRY(for_each_key<wb_crl_key>(impl_->map_fd(WB_MAP_CRL_ADDR), WB_CRL_ADDR_MAX,
                                  [&](const wb_crl_key& key) -> Status {
                                    out.push_back(crl_host_of(key));
                                    return {};
                                  }));
  return out;
}

Status set_xdp_peer(const Datapath::Impl& impl, int in_ifindex, int out_ifindex) {
  __u32 key = static_cast<__u32>(in_ifindex);
  __u32 value = static_cast<__u32>(out_ifindex);
  return update(impl.map_fd(WB_MAP_PEERS), &key, &value, "set xdp peer port");
}

Result<Counters> Datapath::counters() const {
  Counters out;
  WB_TRY(sum_percpu(impl_->map_fd(WB_MAP_COUNTERS), out.by_reason));
  WB_TRY(sum_percpu(impl_->map_fd(WB_MAP_CLASSES), out.by_class));
  return out;
}

Result<std::vector<Flow>> Datapath::flows() const {
  std::vector<Flow> out;
  int fd = impl_->map_fd(WB_MAP_FLOWS);
  WB_TRY(for_each_key<wb_flow_key>(fd, WB_FLOWS_MAX, [&](const wb_flow_key& key) -> Status {
    Flow flow{key, {}};
    // Evicted between next_key and lookup (LRU): skip it.
    if (bpf_map_lookup_elem(fd, &key, &flow.value) == 0) out.push_back(flow);
    return {};
  }));
  return out;
}

Status Datapath::clear_flows() {
  WB_TRY_ASSIGN(auto all, flows());
  for (const Flow& flow : all)
    WB_TRY(remove(impl_->map_fd(WB_MAP_FLOWS), &flow.key, "clear flows"));
  return {};
}

}  // namespace wb::datapath
