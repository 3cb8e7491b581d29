/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The kernel/agent contract: every map key and value, verdict, reason code and flow class that
 * the BPF programs (bpf/) and the agent (agent/) share. This is the ONLY definition; both sides
 * include this file, and both check the sizes below at compile time.
 *
 * Rules: fixed-width __u types only, explicit padding, no bool/enum-typed fields (enum sizes
 * differ between C and C++ compilers), append-only enums (reason codes are metrics names).
 */
#ifndef WIREBUMP_ABI_H
#define WIREBUMP_ABI_H

#include <linux/types.h>

#define WB_PIN_ROOT_DEFAULT "/sys/fs/bpf/wirebump"

/* Map names (also the pin file names under the pin directory). BPF map names hold 15 chars. */
#define WB_MAP_CONFIG "wb_config"     /* array[1] of struct wb_config */
#define WB_MAP_PORTS "wb_ports"       /* hash __u16 port (host order) -> __u32 1: candidate TCP */
#define WB_MAP_SRC_V4 "wb_src_v4"     /* LPM wb_lpm_v4 -> __u32 1: bypass by source */
#define WB_MAP_SRC_V6 "wb_src_v6"     /* LPM wb_lpm_v6 -> __u32 1 */
#define WB_MAP_DST_V4 "wb_dst_v4"     /* LPM wb_lpm_v4 -> __u32 1: bypass by destination */
#define WB_MAP_DST_V6 "wb_dst_v6"     /* LPM wb_lpm_v6 -> __u32 1 */
#define WB_MAP_FLOWS "wb_flows"       /* LRU hash wb_flow_key -> wb_flow_value */
#define WB_MAP_COUNTERS "wb_counters" /* per-CPU array[WB_REASON_MAX] of wb_counter */
#define WB_MAP_CLASSES "wb_classes"   /* per-CPU array[WB_CLASS_MAX] of wb_counter */
#define WB_MAP_LISTENER "wb_listener" /* SOCKMAP[4]: the agent's transparent listeners */
#define WB_MAP_PEERS "wb_peers"       /* DEVMAP ingress ifindex -> egress port (XDP fast path) */
#define WB_MAP_TW_SYN "wb_tw_syn" /* LRU hash wb_flow_key (SYN's tuple) -> __u8: for sk_lookup */
#define WB_MAP_CRL_ADDR "wb_crl_addr" /* hash wb_crl_key -> __u32 1: CRL hosts to steer */
/* The pinned bpf_link of wb_sk_lookup on the bridge's network namespace (not a map). */
#define WB_LINK_SK_LOOKUP "wb_sk_lookup_link"

#define WB_FLOWS_MAX 65536

/* Slots of wb_listener. A v4 SYN tries the v4 slot, then the v6 slot (a dual-stack listener).
 * Slots 0/1: the TLS (candidate port) listeners; 2/3: the revocation HTTP listeners that answer
 * SYNs to a CRL host address on WB_CRL_PORT (WB_REASON_STEER_CRL). */
#define WB_LISTENER_V4 0
#define WB_LISTENER_V6 1
#define WB_LISTENER_CRL_V4 2
#define WB_LISTENER_CRL_V6 3
#define WB_LISTENER_SLOTS 4

/* The CRL host addresses (wb_crl_addr) are steered on this TCP port only: the forged
 * certificates' URLs are http://<crl-host>/... without a port. */
#define WB_CRL_PORT 80
#define WB_CRL_ADDR_MAX 16

/* The classifier leaves its decision in skb->cb[0] (BPF_PROG_TEST_RUN returns it in ctx_out):
 * WB_DECISION_TAG | class << 16 | reason << 8 | verdict. `wirebump replay` and the tests read
 * the decision of the very program that runs on the bridge. */
#define WB_DECISION_TAG 0xB0000000u
#define WB_DECISION_TAG_MASK 0xFF000000u

/* What the classifier does with a frame. */
enum wb_verdict {
  WB_VERDICT_BYPASS = 0, /* forwarded in kernel, never copied to user space */
  WB_VERDICT_STEER = 1,  /* delivered to the agent's transparent socket */
  WB_VERDICT_DROP = 2,   /* only QUIC Initials while QUIC blocking is on */
  WB_VERDICT_MAX
};

/* Why. Each reason belongs to exactly one verdict (wb_reason_verdict below). */
enum wb_reason {
  WB_REASON_NON_IP = 0,    /* BYPASS: ARP, LLDP, anything not IPv4/IPv6 */
  WB_REASON_MALFORMED,     /* BYPASS: headers that do not parse; the bridge decides */
  WB_REASON_FRAGMENT,      /* BYPASS: non-first IP fragment, no L4 header to judge */
  WB_REASON_OTHER_L4,      /* BYPASS: neither TCP nor UDP */
  WB_REASON_EXCLUDED_SRC,  /* BYPASS: source in a bypass CIDR */
  WB_REASON_EXCLUDED_DST,  /* BYPASS: destination in a bypass CIDR */
  WB_REASON_NOT_CANDIDATE, /* BYPASS: TCP to a port not in the candidate set */
  WB_REASON_INTERCEPT_OFF, /* BYPASS: the global switch is off */
  WB_REASON_AGENT_DOWN,    /* BYPASS: SYN to a candidate port, no listener (fail open) */
  WB_REASON_NOT_OWNED,     /* BYPASS: mid-flow TCP not owned by the agent */
  WB_REASON_UDP,           /* BYPASS: UDP, classified and passed */
  WB_REASON_STEER_SYN,     /* STEER: SYN to a candidate port, assigned to the listener */
  WB_REASON_STEER_CLIENT,  /* STEER: later client packet of an agent-owned flow */
  WB_REASON_STEER_SERVER,  /* STEER: server reply to the agent's upstream socket */
  WB_REASON_QUIC_BLOCKED,  /* DROP: QUIC Initial on UDP 443 with blocking on */
  /* appended by the datapath issue (append-only: these numbers are metric names) */
  WB_REASON_TO_BRIDGE, /* BYPASS: addressed to the bridge's own MAC; the bridge delivers it */
  WB_REASON_TAGGED,    /* BYPASS: VLAN-tagged SYN to a candidate port (agent serves untagged) */
  WB_REASON_XDP_FAST,  /* BYPASS: known-bypass flow redirected port to port by XDP */
  WB_REASON_STEER_TIME_WAIT, /* STEER: SYN to a candidate port whose 4-tuple an old agent
                              * socket holds in TIME_WAIT (client reusing its port): delivered
                              * without an assign so the kernel's TIME_WAIT handling recycles it,
                              * then wb_sk_lookup hands it to the listener */
  WB_REASON_STEER_CRL, /* STEER: SYN to a CRL host address (wb_crl_addr) on WB_CRL_PORT, assigned
                        * to the revocation HTTP listener (slots WB_LISTENER_CRL_*) */
  WB_REASON_MAX
};

/* What the first bytes of a flow look like (UDP judged in kernel; TCP refined by the agent). */
enum wb_flow_class {
  WB_CLASS_UNKNOWN = 0,
  WB_CLASS_TCP,          /* TCP, not yet judged by payload */
  WB_CLASS_STUN,         /* STUN/TURN with the RFC 5389 magic cookie */
  WB_CLASS_CLASSIC_STUN, /* RFC 3489 STUN, no cookie */
  WB_CLASS_MSTURN_MUX,   /* MS-TURN multiplexed 0xFF10 */
  WB_CLASS_TURN_CHANNEL, /* TURN ChannelData */
  WB_CLASS_DTLS,
  WB_CLASS_QUIC,  /* IETF QUIC long header (v1, v2, drafts) */
  WB_CLASS_GQUIC, /* Google QUIC Q0xx / T05x */
  WB_CLASS_RTP,
  WB_CLASS_MAX
};

/* Single entry (key 0) of the array map wb_config: the policy the agent writes at run time. */
struct wb_config {
  __u32 intercept_enabled; /* 0: everything bypasses */
  __u32 block_quic;        /* 1: drop QUIC Initials on UDP 443 */
  __u32 bridge_ifindex;    /* steered frames are redirected to this ingress */
  __u32 steer_mark;        /* skb->mark for the agent's policy-routing rule */
  __u8 bridge_mac[6];      /* steered frames get this destination MAC */
  __u16 quic_port;         /* host order; 443 */
  __u32 agent_pid;         /* informational: which agent wrote this */
  __u32 flags;             /* WB_CONFIG_* below */
};

/* Decide only: steering decisions are made (listener present = STEER_SYN) but no socket is
 * assigned and nothing is redirected. For `wirebump replay` and tests on a private datapath;
 * never set on a live bridge. */
#define WB_CONFIG_DRY_RUN 1u

/* Flow table key. IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d) so one key serves both. */
struct wb_flow_key {
  __u8 saddr[16];
  __u8 daddr[16];
  __u16 sport; /* network order */
  __u16 dport; /* network order */
  __u8 l4_proto;
  __u8 pad[3];
};

struct wb_flow_value {
  __u64 first_seen_ns; /* bpf_ktime_get_ns */
  __u64 last_seen_ns;
  __u64 packets;
  __u64 bytes;
  __u8 verdict;    /* enum wb_verdict */
  __u8 reason;     /* enum wb_reason */
  __u8 flow_class; /* enum wb_flow_class */
  __u8 pad[5];
};

/* Per-CPU counters, array maps indexed by reason (wb_counters) and by class (wb_classes). */
struct wb_counter {
  __u64 packets;
  __u64 bytes;
};

/* Key of wb_crl_addr: one address of the CRL host, IPv4 stored v4-mapped (::ffff:a.b.c.d). */
struct wb_crl_key {
  __u8 addr[16];
};

/* LPM trie keys for the bypass CIDR maps. */
struct wb_lpm_v4 {
  __u32 prefixlen;
  __u8 addr[4];
};
struct wb_lpm_v6 {
  __u32 prefixlen;
  __u8 addr[16];
};

#ifdef __cplusplus
#define WB_ABI_ASSERT_SIZE(type, size) static_assert(sizeof(type) == (size), #type " size")
#else
#define WB_ABI_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#endif

WB_ABI_ASSERT_SIZE(struct wb_config, 32);
WB_ABI_ASSERT_SIZE(struct wb_flow_key, 40);
WB_ABI_ASSERT_SIZE(struct wb_flow_value, 40);
WB_ABI_ASSERT_SIZE(struct wb_counter, 16);
WB_ABI_ASSERT_SIZE(struct wb_lpm_v4, 8);
WB_ABI_ASSERT_SIZE(struct wb_lpm_v6, 20);
WB_ABI_ASSERT_SIZE(struct wb_crl_key, 16);

/* The verdict a reason belongs to. */
static inline enum wb_verdict wb_reason_verdict(enum wb_reason reason) {
  if (reason == WB_REASON_QUIC_BLOCKED) return WB_VERDICT_DROP;
  if (reason >= WB_REASON_STEER_SYN && reason <= WB_REASON_STEER_SERVER) return WB_VERDICT_STEER;
  if (reason == WB_REASON_STEER_TIME_WAIT || reason == WB_REASON_STEER_CRL) return WB_VERDICT_STEER;
  return WB_VERDICT_BYPASS;
}

#endif /* WIREBUMP_ABI_H */
