// The kernel datapath as the agent, the CLI and `wirebump replay` see it: an RAII owner of the
// loaded BPF programs (bpf/classifier.bpf.c, bpf/xdp.bpf.c) and their pinned maps. The maps are
// the policy (bpf/wirebump_abi.h): changing a port, a CIDR or the switch never reloads anything.
//
// Lifetime: the maps are pinned under pin_dir and survive this object (and the agent process);
// attached programs stay attached after the object is gone, because tc/XDP hold their own
// reference. Undo everything with the static detach_*() + remove_pins(), which need no instance
// (`wirebump down` after the agent was SIGKILLed knows only the config).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "bpf/wirebump_abi.h"

namespace wb::datapath {

enum class XdpMode { off, generic, native };
Result<XdpMode> parse_xdp_mode(std::string_view text);  // "off" | "generic" | "native"
const char* to_string(XdpMode mode);

const char* reason_name(wb_reason reason);         // "not_candidate", "agent_down", ...
const char* verdict_name(wb_verdict verdict);      // "bypass", "steer", "drop"
const char* class_name(wb_flow_class flow_class);  // "stun", "quic", ...

// An IPv4 or IPv6 prefix for the bypass tries.
struct Cidr {
  int family = 0;                       // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> addr{};  // first 4 bytes for AF_INET; host bits are zeroed
  std::uint8_t prefix_len = 0;
  static Result<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "2001:db8::/32", "1.2.3.4"
  std::string str() const;
  bool operator==(const Cidr&) const = default;
};

enum class Side { source, destination };

// One frame's fate, as the classifier program decided it.
struct Decision {
  wb_verdict verdict = WB_VERDICT_BYPASS;
  wb_reason reason = WB_REASON_NON_IP;
  wb_flow_class flow_class = WB_CLASS_UNKNOWN;
  int tc_action = 0;       // the program's return value: TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT
  std::uint32_t mark = 0;  // skb->mark after the program: the steer mark on a diverted frame
};

// Counters summed over CPUs.
struct Counters {
  std::array<wb_counter, WB_REASON_MAX> by_reason{};
  std::array<wb_counter, WB_CLASS_MAX> by_class{};
  wb_counter verdict_total(wb_verdict verdict) const;
};

struct Flow {
  wb_flow_key key{};
  wb_flow_value value{};
  int family() const;       // AF_INET when the addresses are v4-mapped
  std::string src() const;  // "192.0.2.1:40000", "[2001:db8::1]:40000"
  std::string dst() const;
};

struct OpenOptions {
  // Reuse maps already pinned under pin_dir (agent restart); false: fail if pins exist.
  bool reuse_pins = true;
};

class Datapath {
 public:
  // Loads the programs and pins their maps (with BTF) under pin_dir, or reuses the maps already
  // pinned there so that flows, counters, policy and the listener survive an agent restart.
  // A new pin set gets the default policy: interception on, candidate ports 443 and 5061.
  static Result<Datapath> open(const std::string& pin_dir, OpenOptions options = {});
  // Private, unpinned maps: `wirebump replay` and tests (nothing outlives the object).
  static Result<Datapath> open_unpinned();

  // Removes every pin this project creates under pin_dir, then the directory if empty.
  // Missing pins are not an error (idempotent).
  static Status remove_pins(const std::string& pin_dir);
  // Detach without an instance: the tc filter wirebump installs (fixed handle/priority) on the
  // ingress of ifindex, and any XDP program on ifindex. Not attached = success.
  static Status detach_tc(int ifindex);
  // The id of the program in wirebump's tc filter on ifindex's ingress; 0 when there is none
  // (or no clsact qdisc). The filter's handle and priority stay private to the datapath.
  static Result<unsigned> attached_tc_program(int ifindex);
  static Status detach_xdp(int ifindex);
  // Deletes the clsact qdisc of ifindex (with every filter on it). Only for a qdisc that
  // attach_tc() reported it created.
  static Status remove_clsact(int ifindex);

  Datapath(Datapath&&) noexcept;
  Datapath& operator=(Datapath&&) noexcept;
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;
  ~Datapath();

  // TC ingress (clsact, direct action), replacing a previous wirebump filter. Returns true when
  // the clsact qdisc was created by this call (so `down` may delete it again).
  Result<bool> attach_tc(int ifindex);
  // XDP on ifindex; XdpMode::off detaches. With peer_ifindex > 0, flows that can never be the
  // agent's are redirected from ifindex straight to peer_ifindex (DEVMAP wb_peers): the fast
  // path for real NICs. Like attach_tc, this acts in the calling thread's network namespace,
  // and the DEVMAP resolves peer_ifindex there too: call it inside the bridge's namespace.
  Status attach_xdp(int ifindex, XdpMode mode, int peer_ifindex = 0);
  // The socket-lookup program on the calling thread's network namespace, pinned (WB_LINK_SK_
  // LOOKUP) so it survives agent restarts; remove_pins() detaches it. It hands a SYN whose
  // 4-tuple an old agent socket still held in TIME_WAIT to the listener (see the classifier's
  // WB_REASON_STEER_TIME_WAIT); without it such a client stalls until the TIME_WAIT expires.
  // Kept when already attached. Needs a pinned datapath.
  Status attach_sk_lookup();

  Status set_config(const wb_config& config);
  Result<wb_config> config() const;
  Status set_intercept(bool enabled);  // read-modify-write of the config
  Status set_block_quic(bool enabled);

  Status add_port(std::uint16_t port);
  Status del_port(std::uint16_t port);
  Result<std::vector<std::uint16_t>> ports() const;  // sorted

  Status add_bypass(Side side, const Cidr& cidr);
  Status del_bypass(Side side, const Cidr& cidr);
  Result<std::vector<Cidr>> bypass(Side side) const;

  // Registers the agent's IP_TRANSPARENT listening socket (slot by its family). The kernel drops
  // a closed socket from the map by itself: a missing listener means "agent down, fail open".
  Status set_listener(int fd);
  // The same for the revocation HTTP listener that answers SYNs to a CRL host address on port 80
  // (WB_LISTENER_CRL_* slots, WB_REASON_STEER_CRL).
  Status set_crl_listener(int fd);
  Status clear_listener();        // every slot, TLS and CRL
  bool has_listener() const;      // a TLS listener is registered
  bool has_crl_listener() const;  // a revocation HTTP listener is registered

  // The CRL host's addresses (host prefixes: /32 or /128) whose TCP port 80 is steered to the
  // CRL listener; replaces the whole set (empty: none), at most WB_CRL_ADDR_MAX.
  Status set_crl_addresses(std::span<const Cidr> hosts);
  Result<std::vector<Cidr>> crl_addresses() const;

  Result<Counters> counters() const;
  Result<std::vector<Flow>> flows() const;
  Status clear_flows();

  // Runs the classifier program itself on one Ethernet frame (BPF_PROG_TEST_RUN). Side effects
  // are real (flow table, counters) but nothing is transmitted. ifindex: the ingress device the
  // kernel pretends the frame came from (0: loopback). The kernel refuses frames of 14 bytes or
  // less and IP frames whose IP header is incomplete (an error, not a decision).
  // For `wirebump replay` on an open_unpinned() datapath: set WB_CONFIG_DRY_RUN in the config
  // and register any listening socket to model a running agent (SYNs to candidate ports then
  // report steer_syn; without a listener they report agent_down, as on a live bridge).
  // bpf_sk_assign cannot run in a test run, which is why the dry-run flag exists.
  Result<Decision> classify(std::span<const std::uint8_t> frame, int ifindex = 0) const;
  // Mean nanoseconds per run of the classifier over `repeat` runs of one frame.
  Result<double> measure_ns_per_packet(std::span<const std::uint8_t> frame,
                                       std::uint32_t repeat) const;
  // Runs the XDP program on one frame (BPF_PROG_TEST_RUN) as if received on ingress_ifindex
  // (a device of the calling thread's namespace; 0: the kernel's default, loopback). Returns the
  // XDP action (XDP_PASS, XDP_DROP, XDP_REDIRECT when the DEVMAP has a peer for the port); nothing
  // is transmitted.
  Result<int> run_xdp(std::span<const std::uint8_t> frame, int ingress_ifindex = 0) const;

  int classifier_fd() const;
  const std::string& pin_dir() const;  // empty when unpinned

  struct Impl;  // opaque (agent/datapath/datapath_impl.h)

 private:
  explicit Datapath(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wb::datapath
