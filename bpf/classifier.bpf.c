// SPDX-License-Identifier: (MIT OR GPL-2.0)
/* TC ingress classifier for the bridge ports (clsact, direct action).
 *
 * Every frame gets a verdict and a reason (bpf/wirebump_abi.h): BYPASS (TC_ACT_OK, the bridge
 * forwards it), STEER (diverted to the agent's transparent socket) or DROP (only QUIC Initials
 * on the QUIC port while blocking is on). Anything that cannot be judged passes untouched.
 * The decision is also left in skb->cb[0] so BPF_PROG_TEST_RUN (replay, tests) reads exactly
 * what this program decided. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "bpf/lib/counters.h"
#include "bpf/lib/cursor.h"
#include "bpf/lib/ip.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/policy.h"
#include "bpf/lib/steer.h"
#include "bpf/lib/udp_class.h"
#include "bpf/lib/vlan.h"
#include "bpf/wirebump_abi.h"

struct wb_decision {
  __u32 reason;
  __u8 flow_class;
  __u8 l4; /* 1: the key below is a flow to record */
  __u8 steer;
  __u8 drop;
  struct wb_flow_key key;
};

static __always_inline __u32 wb_dry_run(const struct wb_config* cfg) {
  return cfg->flags & WB_CONFIG_DRY_RUN;
}

/* Steering needs the bridge to redirect to (a dry run redirects nothing). */
static __always_inline int wb_can_steer(const struct wb_config* cfg) {
  return cfg->bridge_ifindex || wb_dry_run(cfg);
}

static __always_inline void wb_decide_tcp(struct __sk_buff* skb, struct wb_cursor* c,
                                          const struct wb_config* cfg, const struct wb_l2* l2,
                                          const struct wb_l3* l3, struct wb_decision* d) {
  struct tcphdr tcp;
  if (wb_load(c, c->off, &tcp, sizeof(tcp)) || tcp.doff < 5 || tcp.doff * 4u > l3->l4_len) {
    d->reason = WB_REASON_MALFORMED;
    return;
  }
  d->flow_class = WB_CLASS_TCP;
  d->key.sport = tcp.source;
  d->key.dport = tcp.dest;
  d->l4 = 1;
  if (l3->first_fragment) { /* a TCP segment in IP fragments: never ours */
    d->reason = WB_REASON_FRAGMENT;
    return;
  }
  /* Port 80 of a CRL host address (wb_crl_addr) goes to the revocation HTTP listener, whatever
   * the candidate ports say; other ports of that address are judged as usual. */
  __u8 crl = wb_is_crl(l3->daddr, tcp.dest) ? 1 : 0;
  int candidate_dst = crl || wb_is_candidate(tcp.dest);
  if (tcp.syn && !tcp.ack) {
    if (!candidate_dst) {
      d->reason = WB_REASON_NOT_CANDIDATE;
    } else if (!cfg->intercept_enabled) {
      d->reason = WB_REASON_INTERCEPT_OFF;
    } else if (l2->tags || skb->vlan_present) {
      d->reason = WB_REASON_TAGGED;
    } else if (!wb_can_steer(cfg) || !wb_has_listener(l3->v6, crl)) {
      d->reason = WB_REASON_AGENT_DOWN; /* fail open: the SYN goes to the server */
    } else if (wb_time_wait_holds(skb, l3, tcp.source, tcp.dest)) {
      /* Not assigned: the local stack's lookup meets the TIME_WAIT socket, which accepts a new
       * SYN and asks for a listener; wb_sk_lookup below answers with the agent's, because the
       * tuple is in wb_tw_syn. */
      __u8 one = 1;
      bpf_map_update_elem(&wb_tw_syn, &d->key, &one, BPF_ANY);
      d->reason = WB_REASON_STEER_TIME_WAIT;
      d->steer = 1;
    } else if (wb_assign_listener(skb, l3->v6, crl, wb_dry_run(cfg))) {
      d->reason = WB_REASON_AGENT_DOWN;
    } else {
      d->reason = crl ? WB_REASON_STEER_CRL : WB_REASON_STEER_SYN;
      d->steer = 1;
    }
    return;
  }
  /* Mid-flow: only flows on a candidate port (or to the CRL host's port 80) can belong to the
   * agent (client side: the destination; server side: the source port of the reply). The lookup
   * is skipped for everything else, which keeps bypassed bulk flows cheap. */
  int candidate_src = !candidate_dst && wb_is_candidate(tcp.source);
  if (!candidate_dst && !candidate_src) {
    d->reason = WB_REASON_NOT_CANDIDATE;
  } else if (wb_can_steer(cfg) && wb_agent_owns(skb, l3, tcp.source, tcp.dest)) {
    /* Owned flows keep being steered even with interception switched off: cutting them
     * would break established connections; the switch governs new SYNs. */
    d->reason = candidate_dst ? WB_REASON_STEER_CLIENT : WB_REASON_STEER_SERVER;
    d->steer = 1;
  } else {
    d->reason = cfg->intercept_enabled ? WB_REASON_NOT_OWNED : WB_REASON_INTERCEPT_OFF;
  }
}

static __always_inline void wb_decide_udp(struct wb_cursor* c, const struct wb_config* cfg,
                                          const struct wb_l3* l3, struct wb_decision* d) {
  struct udphdr udp;
  if (wb_load(c, c->off, &udp, sizeof(udp))) {
    d->reason = WB_REASON_MALFORMED;
    return;
  }
  __u32 udp_len = bpf_ntohs(udp.len);
  /* The first fragment carries only part of the datagram the UDP length describes. */
  __u32 avail = l3->l4_len;
  if (udp_len < sizeof(udp) || (!l3->first_fragment && udp_len > avail)) {
    d->reason = WB_REASON_MALFORMED;
    return;
  }
  d->key.sport = udp.source;
  d->key.dport = udp.dest;
  d->l4 = 1;
  __u32 plen = (udp_len < avail ? udp_len : avail) - sizeof(udp);
  struct wb_udp_info info = {};
  wb_classify_udp(c, c->off + sizeof(udp), plen, &info);
  d->flow_class = info.flow_class;
  if (!cfg->intercept_enabled) {
    d->reason = WB_REASON_INTERCEPT_OFF;
  } else if (cfg->block_quic && info.quic_initial && bpf_ntohs(udp.dest) == cfg->quic_port) {
    d->reason = WB_REASON_QUIC_BLOCKED;
    d->drop = 1;
  } else {
    d->reason = WB_REASON_UDP;
  }
}

static __always_inline void wb_decide(struct __sk_buff* skb, const struct wb_config* cfg,
                                      struct wb_decision* d) {
  struct wb_cursor c = {.ctx = skb, .off = 0, .len = skb->len};
  struct wb_l2 l2 = {};
  if (wb_parse_l2(&c, &l2)) {
    d->reason = WB_REASON_MALFORMED;
    return;
  }
  /* Frames for the bridge itself (ARP replies, management, CRL/OCSP fetches) are the bridge's
   * to deliver; never divert or drop them. */
  if (wb_bytes_equal(l2.dst, cfg->bridge_mac, ETH_ALEN) && cfg->bridge_ifindex) {
    d->reason = WB_REASON_TO_BRIDGE;
    return;
  }
  if (l2.too_deep) {
    d->reason = WB_REASON_MALFORMED;
    return;
  }
  struct wb_l3 l3 = {};
  int parsed;
  if (l2.proto == bpf_htons(ETH_P_IP))
    parsed = wb_parse_ipv4(&c, &l3);
  else if (l2.proto == bpf_htons(ETH_P_IPV6))
    parsed = wb_parse_ipv6(&c, &l3);
  else {
    d->reason = WB_REASON_NON_IP;
    return;
  }
  if (parsed != WB_PARSE_OK) {
    d->reason = parsed == WB_PARSE_FRAGMENT ? WB_REASON_FRAGMENT : WB_REASON_MALFORMED;
    return;
  }
  __builtin_memcpy(d->key.saddr, l3.saddr, 16);
  __builtin_memcpy(d->key.daddr, l3.daddr, 16);
  d->key.l4_proto = l3.proto;
  d->reason = wb_excluded(&l3);
  if (d->reason != WB_REASON_MAX) {
    d->l4 = 1; /* excluded flows show in the flow table too (ports stay 0 when not parsed) */
    return;
  }
  if (l3.proto == IPPROTO_TCP)
    wb_decide_tcp(skb, &c, cfg, &l2, &l3, d);
  else if (l3.proto == IPPROTO_UDP)
    wb_decide_udp(&c, cfg, &l3, d);
  else {
    d->reason = WB_REASON_OTHER_L4;
    d->l4 = 1;
  }
}

SEC("tc")
int wb_tc_ingress(struct __sk_buff* skb) {
  __u32 zero = 0;
  struct wb_config* cfg = bpf_map_lookup_elem(&wb_config, &zero);
  if (!cfg) return TC_ACT_OK;
  struct wb_decision d = {.reason = WB_REASON_NON_IP, .flow_class = WB_CLASS_UNKNOWN};
  wb_decide(skb, cfg, &d);
  if (d.reason >= WB_REASON_MAX) d.reason = WB_REASON_MALFORMED;

  __u8 verdict = d.steer ? WB_VERDICT_STEER : d.drop ? WB_VERDICT_DROP : WB_VERDICT_BYPASS;
  __u8 flow_class = d.flow_class;
  if (d.l4) flow_class = wb_flow_update(&d.key, verdict, d.reason, d.flow_class, skb->len);
  wb_count(&wb_counters, d.reason, skb->len);
  wb_count(&wb_classes, flow_class < WB_CLASS_MAX ? flow_class : WB_CLASS_UNKNOWN, skb->len);
  skb->cb[0] = WB_DECISION_TAG | ((__u32)flow_class << 16) | (d.reason << 8) | verdict;

  if (d.drop) return TC_ACT_SHOT;
  if (d.steer && !wb_dry_run(cfg)) return wb_divert(skb, cfg);
  return TC_ACT_OK;
}

/* Socket lookup in the bridge's network namespace, attached by the agent (wb_sk_lookup_link):
 * hands a SYN that the classifier marked in wb_tw_syn to the agent's listener, when the kernel
 * asks for a listener for it (the TIME_WAIT socket that held its tuple accepted the new SYN).
 * Every other lookup passes untouched. */
SEC("sk_lookup")
int wb_sk_lookup(struct bpf_sk_lookup* ctx) {
  if (ctx->protocol != IPPROTO_TCP) return SK_PASS;
  struct wb_flow_key key = {.l4_proto = IPPROTO_TCP};
  int v6 = ctx->family == 10; /* AF_INET6 */
  if (v6) {
    /* One 32-bit context load at a time (the verifier's rule for these fields). */
    __u32 word;
#pragma unroll
    for (int i = 0; i < 4; i++) {
      word = ctx->remote_ip6[i];
      __builtin_memcpy(key.saddr + 4 * i, &word, 4);
      word = ctx->local_ip6[i];
      __builtin_memcpy(key.daddr + 4 * i, &word, 4);
    }
  } else {
    __u32 remote = ctx->remote_ip4, local = ctx->local_ip4;
    wb_v4_mapped(key.saddr, remote);
    wb_v4_mapped(key.daddr, local);
  }
  key.sport = ctx->remote_port; /* network order, like the classifier's key */
  key.dport = bpf_htons(ctx->local_port);
  if (!bpf_map_lookup_elem(&wb_tw_syn, &key)) return SK_PASS;
  bpf_map_delete_elem(&wb_tw_syn, &key);
  /* The same listener the classifier would have assigned: CRL host flows to the revocation
   * HTTP listener, everything else to the TLS listener. */
  __u8 crl = wb_is_crl(key.daddr, key.dport) ? 1 : 0;
  struct bpf_sock* sk = wb_listener_sk(v6, crl);
  if (!sk) return SK_PASS; /* agent gone: the kernel answers as it would without us */
  bpf_sk_assign(ctx, sk, 0);
  bpf_sk_release(sk);
  return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
