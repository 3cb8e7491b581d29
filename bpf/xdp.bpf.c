// SPDX-License-Identifier: (MIT OR GPL-2.0)
/* Optional XDP program for the bridge ports (`xdp = "generic" | "native"`).
 *
 * Early decisions only; the TC classifier stays the authority for everything else:
 *  - QUIC Initials on the QUIC port are dropped here when blocking is on (same rule as TC);
 *  - frames of flows that can never be the agent's (TCP with neither port a candidate, UDP
 *    that is not a blocked QUIC Initial, excluded CIDRs) are redirected port to port through
 *    the DEVMAP wb_peers when the agent configured a peer for this port. On real NICs that is
 *    the fast path; on veth it costs throughput (KERNEL-FACTS.md), hence off by default.
 * SYNs to candidate ports, TCP to port 80 of the CRL host (wb_crl_addr), frames for the bridge
 * itself, ARP and anything unparsed: XDP_PASS. */
#define WB_CTX_XDP 1
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "bpf/lib/counters.h"
#include "bpf/lib/cursor.h"
#include "bpf/lib/ip.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/policy.h"
#include "bpf/lib/udp_class.h"
#include "bpf/lib/vlan.h"

/* 1: fast path allowed, 2: drop (QUIC), 0: pass to TC */
static __always_inline int wb_xdp_judge(struct wb_cursor* c, const struct wb_config* cfg,
                                        struct wb_flow_key* key, __u8* flow_class) {
  struct wb_l2 l2 = {};
  if (wb_parse_l2(c, &l2) || l2.too_deep) return 0;
  if (wb_bytes_equal(l2.dst, cfg->bridge_mac, ETH_ALEN)) return 0;
  struct wb_l3 l3 = {};
  int parsed;
  if (l2.proto == bpf_htons(ETH_P_IP))
    parsed = wb_parse_ipv4(c, &l3);
  else if (l2.proto == bpf_htons(ETH_P_IPV6))
    parsed = wb_parse_ipv6(c, &l3);
  else
    return 0; /* ARP and other non-IP: the bridge's business */
  if (parsed != WB_PARSE_OK || l3.first_fragment) return 0;
  __builtin_memcpy(key->saddr, l3.saddr, 16);
  __builtin_memcpy(key->daddr, l3.daddr, 16);
  key->l4_proto = l3.proto;
  int excluded = wb_excluded(&l3) != WB_REASON_MAX;
  if (l3.proto == IPPROTO_TCP) {
    struct tcphdr tcp;
    if (wb_load(c, c->off, &tcp, sizeof(tcp)) || tcp.doff < 5) return 0;
    key->sport = tcp.source;
    key->dport = tcp.dest;
    *flow_class = WB_CLASS_TCP;
    if (excluded) return 1;
    /* Port 80 of the CRL host is steered by TC (WB_REASON_STEER_CRL): never fast-pathed. */
    if (wb_is_crl(l3.daddr, tcp.dest)) return 0;
    return !wb_is_candidate(tcp.dest) && !wb_is_candidate(tcp.source);
  }
  if (l3.proto == IPPROTO_UDP) {
    struct udphdr udp;
    if (wb_load(c, c->off, &udp, sizeof(udp))) return 0;
    __u32 udp_len = bpf_ntohs(udp.len);
    if (udp_len < sizeof(udp) || udp_len > l3.l4_len) return 0;
    key->sport = udp.source;
    key->dport = udp.dest;
    struct wb_udp_info info = {};
    wb_classify_udp(c, c->off + sizeof(udp), udp_len - sizeof(udp), &info);
    *flow_class = info.flow_class;
    if (excluded || !cfg->intercept_enabled) return 1;
    if (cfg->block_quic && info.quic_initial && bpf_ntohs(udp.dest) == cfg->quic_port) return 2;
    return 1;
  }
  return 0;
}

SEC("xdp")
int wb_xdp(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct wb_config* cfg = bpf_map_lookup_elem(&wb_config, &zero);
  if (!cfg) return XDP_PASS;
  __u32 len = ctx->data_end - ctx->data; /* linear frames; multi-buffer is passed to TC */
  struct wb_cursor c = {.ctx = ctx, .off = 0, .len = len};
  struct wb_flow_key key = {};
  __u8 flow_class = WB_CLASS_UNKNOWN;
  int judged = wb_xdp_judge(&c, cfg, &key, &flow_class);
  if (judged == 2) {
    flow_class = wb_flow_update(&key, WB_VERDICT_DROP, WB_REASON_QUIC_BLOCKED, flow_class, len);
    wb_count(&wb_counters, WB_REASON_QUIC_BLOCKED, len);
    wb_count(&wb_classes, flow_class < WB_CLASS_MAX ? flow_class : 0, len);
    return XDP_DROP;
  }
  if (judged != 1) return XDP_PASS;
  __u32 in = ctx->ingress_ifindex;
  if (!bpf_map_lookup_elem(&wb_peers, &in)) return XDP_PASS; /* no fast path configured */
  flow_class = wb_flow_update(&key, WB_VERDICT_BYPASS, WB_REASON_XDP_FAST, flow_class, len);
  wb_count(&wb_counters, WB_REASON_XDP_FAST, len);
  wb_count(&wb_classes, flow_class < WB_CLASS_MAX ? flow_class : 0, len);
  return bpf_redirect_map(&wb_peers, in, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
