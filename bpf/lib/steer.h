/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Steering a bridged TCP flow to the agent (KERNEL-FACTS.md): socket assign for a SYN, then
 * bridge MAC + mark + redirect to the bridge's ingress so the local stack (policy routing on
 * the mark) delivers it. Later packets of agent-owned flows, in both directions, are found by
 * socket lookup and diverted the same way without an assign. */
#ifndef WB_LIB_STEER_H
#define WB_LIB_STEER_H

#include <linux/pkt_cls.h>

#include "bpf/lib/ip.h"
#include "bpf/lib/maps.h"

/* Fills the lookup tuple in packet orientation; returns its size. */
static __always_inline __u32 wb_tuple(const struct wb_l3* l3, __u16 sport, __u16 dport,
                                      struct bpf_sock_tuple* t) {
  if (l3->v6) {
    __builtin_memcpy(t->ipv6.saddr, l3->saddr, 16);
    __builtin_memcpy(t->ipv6.daddr, l3->daddr, 16);
    t->ipv6.sport = sport;
    t->ipv6.dport = dport;
    return sizeof(t->ipv6);
  }
  __builtin_memcpy(&t->ipv4.saddr, l3->saddr + 12, 4);
  __builtin_memcpy(&t->ipv4.daddr, l3->daddr + 12, 4);
  t->ipv4.sport = sport;
  t->ipv4.dport = dport;
  return sizeof(t->ipv4);
}

/* Is there a local socket (not a listener, not TIME_WAIT) for this 4-tuple? The agent's
 * accepted client socket matches client->server packets, its transparent upstream socket
 * (bound to the client's address) matches server->client replies: one lookup serves both. */
static __always_inline int wb_agent_owns(struct __sk_buff* skb, const struct wb_l3* l3, __u16 sport,
                                         __u16 dport) {
  struct bpf_sock_tuple t = {};
  __u32 size = wb_tuple(l3, sport, dport, &t);
  struct bpf_sock* sk = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
  if (!sk) return 0;
  /* Stale TIME_WAIT sockets of a dead agent must not capture a client reusing its port. */
  int owned =
      sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_TIME_WAIT && sk->state != BPF_TCP_CLOSE;
  bpf_sk_release(sk);
  return owned;
}

/* Does a socket in TIME_WAIT hold this 4-tuple? (The agent closed a connection to the client
 * first and the client now reuses its source port.) A SYN assigned to the listener then is
 * dropped by the kernel (the request socket's hash insert finds the TIME_WAIT duplicate) and
 * the client stalls until the TIME_WAIT expires. */
static __always_inline int wb_time_wait_holds(struct __sk_buff* skb, const struct wb_l3* l3,
                                              __u16 sport, __u16 dport) {
  struct bpf_sock_tuple t = {};
  __u32 size = wb_tuple(l3, sport, dport, &t);
  struct bpf_sock* sk = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
  if (!sk) return 0;
  int tw = sk->state == BPF_TCP_TIME_WAIT;
  bpf_sk_release(sk);
  return tw;
}

/* The agent's listener for a SYN: the TLS listeners (slots WB_LISTENER_V4/V6) or, for a CRL
 * host flow, the revocation HTTP listeners (WB_LISTENER_CRL_V4/V6). A v4 SYN falls back to the
 * v6 slot (a dual-stack listener). NULL: none registered (the kernel removes closed sockets). The
 * caller releases the socket. */
static __always_inline struct bpf_sock* wb_listener_sk(__u8 v6, __u8 crl) {
  __u32 base = crl ? WB_LISTENER_CRL_V4 : WB_LISTENER_V4;
  __u32 slot = v6 ? base + 1 : base;
  struct bpf_sock* sk = bpf_map_lookup_elem(&wb_listener, &slot);
  if (!sk && !v6) {
    slot = base + 1;
    sk = bpf_map_lookup_elem(&wb_listener, &slot);
  }
  return sk;
}

/* Is the agent's listener registered (for this family, or the dual-stack v6 one)? */
static __always_inline int wb_has_listener(__u8 v6, __u8 crl) {
  struct bpf_sock* sk = wb_listener_sk(v6, crl);
  if (!sk) return 0;
  bpf_sk_release(sk);
  return 1;
}

/* Assigns a SYN to the agent's listener; 0 on success. A NULL lookup (the kernel removed the
 * closed listener from the SOCKMAP) means the agent is down. */
static __always_inline int wb_assign_listener(struct __sk_buff* skb, __u8 v6, __u8 crl,
                                              __u32 dry_run) {
  struct bpf_sock* sk = wb_listener_sk(v6, crl);
  if (!sk) return -1;
  long err = dry_run ? 0 : bpf_sk_assign(skb, sk, 0);
  bpf_sk_release(sk);
  return err ? -1 : 0;
}

/* The local delivery half: bridge MAC, mark, redirect to the bridge's ingress. */
static __always_inline int wb_divert(struct __sk_buff* skb, const struct wb_config* cfg) {
  if (bpf_skb_store_bytes(skb, 0, cfg->bridge_mac, 6, 0)) return TC_ACT_OK;
  skb->mark = cfg->steer_mark;
  return bpf_redirect(cfg->bridge_ifindex, BPF_F_INGRESS);
}

#endif /* WB_LIB_STEER_H */
