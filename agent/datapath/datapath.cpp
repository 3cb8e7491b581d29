// Loading, pinning and attaching the programs. Pins are reused by hand (bpf_obj_get +
// bpf_map__reuse_fd) rather than with libbpf's pin-by-name: the kernel adds BPF_F_RDONLY_PROG
// to a DEVMAP, which makes libbpf's compatibility check refuse its own pin (KERNEL-FACTS.md).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "agent/datapath/datapath.h"
#include "agent/datapath/datapath_impl.h"
#include "agent/common/unique_fd.h"
#include "classifier.skel.h"
#include "xdp.skel.h"

namespace wb::datapath {
namespace {

// Our tc filter's identity on a port: fixed, so `wirebump down` can remove it knowing only
// the interface.
constexpr __u32 kTcHandle = 0x7762;  // "wb"
constexpr __u32 kTcPriority = 0x7762;

constexpr const char* kPinNames[] = {
    WB_MAP_CONFIG, WB_MAP_PORTS,  WB_MAP_SRC_V4,   WB_MAP_SRC_V6,    WB_MAP_DST_V4,
    WB_MAP_DST_V6, WB_MAP_FLOWS,  WB_MAP_COUNTERS, WB_MAP_CLASSES,   WB_MAP_LISTENER,
    WB_MAP_PEERS,  WB_MAP_TW_SYN, WB_MAP_CRL_ADDR, WB_LINK_SK_LOOKUP};

std::string pin_path(const std::string& dir, const char* name) {
  return dir + "/" + name;
}

// The pinned map must have the layout this build expects; an old layout after an upgrade
// needs `wirebump down` first, not a silent misread.
Status check_compatible(bpf_map* map, int fd, const std::string& path) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (int err = bpf_obj_get_info_by_fd(fd, &info, &len)) return bpf_error(err, "inspect " + path);
  if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
      info.value_size != bpf_map__value_size(map) ||
      info.max_entries != bpf_map__max_entries(map)) {
    return make_error(
        std::errc::invalid_argument,
        "pinned map " + path + " has another layout (remove the pins: wirebump down)");
  }
  return {};
}

// Before load: every map of `obj` reuses the pin under dir if there is one. Returns the maps
// that must be pinned after load.
Result<std::vector<bpf_map*>> reuse_pins(bpf_object* obj, const std::string& dir, bool allowed) {
  std::vector<bpf_map*> to_pin;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    std::string path = pin_path(dir, bpf_map__name(map));
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd) {
      if (errno != ENOENT) return errno_error("open pinned map " + path);
      to_pin.push_back(map);
      continue;
    }
    if (!allowed) return make_error(std::errc::file_exists, "pinned map " + path + " exists");
    WB_TRY(check_compatible(map, fd.get(), path));
    if (int err = bpf_map__reuse_fd(map, fd.get())) return bpf_error(err, "reuse " + path);
  }
  return to_pin;
}

// The XDP object uses the classifier's maps, pinned or not.
Status share_maps(bpf_object* obj, const Datapath::Impl& impl) {
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    int fd = impl.map_fd(bpf_map__name(map));
    if (fd < 0) continue;  // .rodata and friends
    if (int err = bpf_map__reuse_fd(map, fd))
      return bpf_error(err, std::string("share map ") + bpf_map__name(map));
  }
  return {};
}

Status write_defaults(Datapath& dp) {
  wb_config config{};
  config.intercept_enabled = 1;
  config.quic_port = 443;
  WB_TRY(dp.set_config(config));
  WB_TRY(dp.add_port(443));
  return dp.add_port(5061);
}

Result<std::unique_ptr<Datapath::Impl>> load(const std::string& pin_dir, OpenOptions options,
                                             bool* fresh) {
  auto impl = std::make_unique<Datapath::Impl>();
  impl->pin_dir = pin_dir;
  impl->classifier = wb_classifier__open();
  if (!impl->classifier) return errno_error("open classifier object");
  std::vector<bpf_map*> to_pin;
  if (!pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(pin_dir, ec);
    if (ec) return Error{ec, "create pin directory " + pin_dir};
    WB_TRY_ASSIGN(to_pin, reuse_pins(impl->classifier->obj, pin_dir, options.reuse_pins));
  }
  *fresh = pin_dir.empty() || !to_pin.empty();
  if (int err = wb_classifier__load(impl->classifier))
    return bpf_error(err, "load classifier (see the verifier log above)");
  for (bpf_map* map : to_pin) {
    std::string path = pin_path(pin_dir, bpf_map__name(map));
    if (int err = bpf_map__pin(map, path.c_str())) return bpf_error(err, "pin " + path);
  }
  impl->xdp = wb_xdp__open();
  if (!impl->xdp) return errno_error("open xdp object");
  WB_TRY(share_maps(impl->xdp->obj, *impl));
  if (int err = wb_xdp__load(impl->xdp)) return bpf_error(err, "load xdp program");
  return impl;
}

}  // namespace

Datapath::Impl::~Impl() {
  if (sk_lookup_link) bpf_link__destroy(sk_lookup_link);  // the pin keeps it attached
  if (xdp) wb_xdp__destroy(xdp);
  if (classifier) wb_classifier__destroy(classifier);
}

int Datapath::Impl::map_fd(const char* name) const {
  bpf_map* map = bpf_object__find_map_by_name(classifier->obj, name);
  return map ? bpf_map__fd(map) : -1;
}

Datapath::Datapath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Datapath::Datapath(Datapath&&) noexcept = default;
Datapath& Datapath::operator=(Datapath&&) noexcept = default;
Datapath::~Datapath() = default;

Result<Datapath> Datapath::open(const std::string& pin_dir, OpenOptions options) {
  if (pin_dir.empty()) return make_error(std::errc::invalid_argument, "empty pin directory");
  bool fresh = false;
  auto impl = load(pin_dir, options, &fresh);
  if (!impl) return impl.error().wrap("datapath " + pin_dir);
  Datapath dp(std::move(impl).value());
  // Only a new pin set gets defaults: a restarted agent must not reset what operators changed.
  if (dp.impl_->map_fd(WB_MAP_CONFIG) >= 0 && fresh) {
    auto cfg = dp.config();
    if (cfg && cfg->quic_port == 0) WB_TRY(write_defaults(dp));
  }
  return dp;
}

Result<Datapath> Datapath::open_unpinned() {
  bool fresh = true;
  WB_TRY_ASSIGN(auto impl, load("", {}, &fresh));
  Datapath dp(std::move(impl));
  WB_TRY(write_defaults(dp));
  return dp;
}

Status Datapath::remove_pins(const std::string& pin_dir) {
  for (const char* name : kPinNames) {
    std::string path = pin_path(pin_dir, name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("unpin " + path);
  }
  if (::rmdir(pin_dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY)
    return errno_error("remove " + pin_dir);
  return {};
}

Result<bool> Datapath::attach_tc(int ifindex) {
  std::string where = "attach tc ingress on ifindex " + std::to_string(ifindex);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST) return bpf_error(err, where + ": create clsact");
  bool created = err == 0;
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = classifier_fd(), .flags = BPF_TC_F_REPLACE,
              .handle = kTcHandle, .priority = kTcPriority);
  if ((err = bpf_tc_attach(&hook, &opts))) return bpf_error(err, where);
  return created;
}

Status Datapath::detach_tc(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int err = bpf_tc_detach(&hook, &opts);
  // ENOENT: no such filter; EINVAL: no clsact qdisc at all. Both mean "not attached".
  if (err && err != -ENOENT && err != -EINVAL)
    return bpf_error(err, "detach tc ingress on ifindex " + std::to_string(ifindex));
  return {};
}

Result<unsigned> Datapath::attached_tc_program(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int err = bpf_tc_query(&hook, &opts);
  if (err == -ENOENT || err == -EINVAL) return 0u;  // no filter / no clsact qdisc
  if (err) return bpf_error(err, "query tc ingress on ifindex " + std::to_string(ifindex));
  return static_cast<unsigned>(opts.prog_id);
}

Status Datapath::attach_sk_lookup() {
  if (impl_->pin_dir.empty()) {
    return make_error(std::errc::invalid_argument, "sk_lookup needs a pinned datapath");
  }
  const std::string path = pin_path(impl_->pin_dir, WB_LINK_SK_LOOKUP);
  // An agent restart finds it still attached (the pin holds the link) with the same maps.
  if (UniqueFd pinned(bpf_obj_get(path.c_str())); pinned) return {};
  UniqueFd netns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!netns) return errno_error("open /proc/self/ns/net");
  bpf_link* link = bpf_program__attach_netns(impl_->classifier->progs.wb_sk_lookup, netns.get());
  if (!link) return errno_error("attach sk_lookup to the network namespace");
  if (int err = bpf_link__pin(link, path.c_str())) {
    bpf_link__destroy(link);
    return bpf_error(err, "pin " + path);
  }
  impl_->sk_lookup_link = link;
  return {};
}

Status Datapath::remove_clsact(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  int err = bpf_tc_hook_destroy(&hook);
  if (err && err != -ENOENT && err != -EINVAL)
    return bpf_error(err, "remove clsact on ifindex " + std::to_string(ifindex));
  return {};
}

Status Datapath::attach_xdp(int ifindex, XdpMode mode, int peer_ifindex) {
  if (mode == XdpMode::off) return detach_xdp(ifindex);
  // The peer first: the program must never see a half-configured fast path. The DEVMAP
  // resolves the ifindex in this thread's namespace, the one the program is attached in.
  if (peer_ifindex > 0) WB_TRY(set_xdp_peer(*impl_, ifindex, peer_ifindex));
  __u32 flags = mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  // One mode at a time: drop a program left in the other mode first.
  WB_TRY(detach_xdp(ifindex));
  int err = bpf_xdp_attach(ifindex, bpf_program__fd(impl_->xdp->progs.wb_xdp), flags, nullptr);
  if (err)
    return bpf_error(err, std::string("attach xdp (") + to_string(mode) + ") on ifindex " +
                              std::to_string(ifindex));
  return {};
}

Status Datapath::detach_xdp(int ifindex) {
  for (__u32 flags : {XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE}) {
    int err = bpf_xdp_detach(ifindex, flags, nullptr);
    if (err == -ENODEV) return bpf_error(err, "detach xdp on ifindex " + std::to_string(ifindex));
  }
  return {};
}

int Datapath::classifier_fd() const {
  return bpf_program__fd(impl_->classifier->progs.wb_tc_ingress);
}

const std::string& Datapath::pin_dir() const {
  return impl_->pin_dir;
}

}  // namespace wb::datapath
