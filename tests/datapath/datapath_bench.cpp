// wb_datapath_bench: drives the datapath for tests/bench/datapath.sh (attach/detach the
// classifier on a bridge in a namespace, read counters) and measures the classifier's cost
// per packet with BPF_PROG_TEST_RUN repeat (ns/packet) for bypassed and steered frames.
//
//   wb_datapath_bench attach NETNS PIN_DIR IFNAME...     classifier on each port (clsact)
//   wb_datapath_bench xdp NETNS PIN_DIR MODE IF_A IF_B   XDP on both ports, A<->B fast path
//   wb_datapath_bench detach NETNS PIN_DIR IFNAME...     undo attach/xdp, remove the pins
//   wb_datapath_bench counters PIN_DIR                   non-zero counters by reason
//   wb_datapath_bench nsperpkt [REPEAT]                  ns/packet table (private maps)
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/common/unique_fd.h"
#include "agent/datapath/datapath.h"
#include "tests/support/packet_builder.h"

namespace {

using wb::datapath::Datapath;

int fail(const std::string& what) {
  std::fprintf(stderr, "wb_datapath_bench: %s\n", what.c_str());
  return 1;
}

bool enter_netns(const std::string& ns) {
  wb::UniqueFd fd(open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
  return fd && setns(fd.get(), CLONE_NEWNET) == 0;
}

int attach(const std::string& ns, const std::string& pin_dir, const std::vector<std::string>& ifs) {
  if (!enter_netns(ns)) return fail("enter netns " + ns);
  auto dp = Datapath::open(pin_dir);
  if (!dp) return fail(dp.error().message());
  for (const auto& name : ifs) {
    int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) return fail("no interface " + name);
    auto r = dp->attach_tc(ifindex);
    if (!r) return fail(r.error().message());
  }
  return 0;
}

int xdp(const std::string& ns, const std::string& pin_dir, const std::string& mode_text,
        const std::string& a, const std::string& b) {
  if (!enter_netns(ns)) return fail("enter netns " + ns);
  auto mode = wb::datapath::parse_xdp_mode(mode_text);
  if (!mode) return fail(mode.error().message());
  auto dp = Datapath::open(pin_dir);
  if (!dp) return fail(dp.error().message());
  int ia = static_cast<int>(if_nametoindex(a.c_str()));
  int ib = static_cast<int>(if_nametoindex(b.c_str()));
  if (!ia || !ib) return fail("no such interface");
  if (auto st = dp->attach_xdp(ia, *mode, ib); !st) return fail(st.error().message());
  if (auto st = dp->attach_xdp(ib, *mode, ia); !st) return fail(st.error().message());
  return 0;
}

int detach(const std::string& ns, const std::string& pin_dir, const std::vector<std::string>& ifs) {
  if (!enter_netns(ns)) return fail("enter netns " + ns);
  int rc = 0;
  for (const auto& name : ifs) {
    int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) continue;
    for (auto st : {Datapath::detach_tc(ifindex), Datapath::detach_xdp(ifindex),
                    Datapath::remove_clsact(ifindex)})
      if (!st) rc = fail(st.error().message());
  }
  if (auto st = Datapath::remove_pins(pin_dir); !st) rc = fail(st.error().message());
  return rc;
}

int counters(const std::string& pin_dir) {
  auto dp = Datapath::open(pin_dir);
  if (!dp) return fail(dp.error().message());
  auto c = dp->counters();
  if (!c) return fail(c.error().message());
  for (int r = 0; r < WB_REASON_MAX; ++r) {
    const wb_counter& v = c->by_reason[r];
    if (v.packets)
      std::printf("%-14s %12llu packets %16llu bytes\n",
                  wb::datapath::reason_name(static_cast<wb_reason>(r)),
                  static_cast<unsigned long long>(v.packets),
                  static_cast<unsigned long long>(v.bytes));
  }
  return 0;
}

int nsperpkt(std::uint32_t repeat) {
  auto dp = Datapath::open_unpinned();
  if (!dp) return fail(dp.error().message());
  // Steering decisions without side effects; a real listener makes the SOCKMAP lookup real.
  auto cfg = dp->config();
  cfg->flags = WB_CONFIG_DRY_RUN;
  if (auto st = dp->set_config(*cfg); !st) return fail(st.error().message());
  wb::UniqueFd listener(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener.get(), 1) != 0)
    return fail("listener");
  if (auto st = dp->set_listener(listener.get()); !st) return fail(st.error().message());

  using wb::test::FrameSpec;
  FrameSpec bypass;  // bulk TCP data on a non-candidate port
  bypass.dport = 5201;
  bypass.tcp_flags = wb::test::kTcpAck;
  bypass.payload.assign(1400, 0x61);
  FrameSpec syn;          // SYN to 443: SOCKMAP lookup, steer decision
  FrameSpec owned = syn;  // mid-flow on 443: socket lookup (bpf_skc_lookup_tcp)
  owned.tcp_flags = wb::test::kTcpAck;
  owned.payload.assign(1400, 0x61);
  FrameSpec quic;
  quic.l4 = 17;
  quic.payload = wb::test::quic_initial(1);
  FrameSpec v6 = bypass;
  v6.ip_version = 6;
  v6.src = "2001:db8::1";
  v6.dst = "2001:db8::2";
  struct Row {
    const char* name;
    FrameSpec spec;
  };
  std::printf("| frame | decision | ns/packet |\n| --- | --- | --- |\n");
  for (const Row& row : {Row{"TCP ACK+1400 B to :5201 (v4)", bypass}, Row{"same, IPv6", v6},
                         Row{"TCP SYN to :443", syn}, Row{"TCP ACK+1400 B to :443", owned},
                         Row{"UDP QUIC Initial to :443", quic}}) {
    auto frame = wb::test::build_frame(row.spec);
    auto d = dp->classify(frame);
    auto ns = dp->measure_ns_per_packet(frame, repeat);
    if (!d || !ns) return fail("test run failed");
    std::printf("| %s | %s/%s | %.0f |\n", row.name, wb::datapath::verdict_name(d->verdict),
                wb::datapath::reason_name(d->reason), *ns);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 3 && a[0] == "attach") return attach(a[1], a[2], {a.begin() + 3, a.end()});
  if (a.size() == 6 && a[0] == "xdp") return xdp(a[1], a[2], a[3], a[4], a[5]);
  if (a.size() >= 3 && a[0] == "detach") return detach(a[1], a[2], {a.begin() + 3, a.end()});
  if (a.size() == 2 && a[0] == "counters") return counters(a[1]);
  if (!a.empty() && a[0] == "nsperpkt")
    return nsperpkt(a.size() > 1
                        ? static_cast<std::uint32_t>(std::strtoul(a[1].c_str(), nullptr, 10))
                        : 1000000);
  std::fprintf(
      stderr,
      "usage: wb_datapath_bench attach|xdp|detach|counters|nsperpkt ... (see the source)\n");
  return 2;
}
