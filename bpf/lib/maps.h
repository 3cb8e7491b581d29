/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* The maps of the kernel/agent contract (names and layouts in bpf/wirebump_abi.h). The
 * classifier and the XDP program both include this; the loader makes them share one set. */
#ifndef WB_LIB_MAPS_H
#define WB_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/wirebump_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct wb_config);
} wb_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u16); /* TCP destination port, host order */
  __type(value, __u32);
} wb_ports SEC(".maps");

#define WB_LPM_MAP(name, key_type)        \
  struct {                                \
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);  \
    __uint(max_entries, 4096);            \
    __uint(map_flags, BPF_F_NO_PREALLOC); \
    __type(key, key_type);                \
    __type(value, __u32);                 \
  } name SEC(".maps")

WB_LPM_MAP(wb_src_v4, struct wb_lpm_v4);
WB_LPM_MAP(wb_src_v6, struct wb_lpm_v6);
WB_LPM_MAP(wb_dst_v4, struct wb_lpm_v4);
WB_LPM_MAP(wb_dst_v6, struct wb_lpm_v6);

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WB_FLOWS_MAX);
  __type(key, struct wb_flow_key);
  __type(value, struct wb_flow_value);
} wb_flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WB_REASON_MAX);
  __type(key, __u32);
  __type(value, struct wb_counter);
} wb_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WB_CLASS_MAX);
  __type(key, __u32);
  __type(value, struct wb_counter);
} wb_classes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, WB_LISTENER_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} wb_listener SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);   /* ingress ifindex */
  __type(value, __u32); /* egress ifindex */
} wb_peers SEC(".maps");

/* SYNs the classifier delivered without an assign because an old agent socket holds their
 * 4-tuple in TIME_WAIT; wb_sk_lookup hands each to the listener once and removes it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct wb_flow_key);
  __type(value, __u8);
} wb_tw_syn SEC(".maps");

/* The CRL host's addresses that are not the bridge's own: SYNs to them on WB_CRL_PORT are
 * steered to the revocation HTTP listener (WB_REASON_STEER_CRL). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WB_CRL_ADDR_MAX);
  __type(key, struct wb_crl_key);
  __type(value, __u32);
} wb_crl_addr SEC(".maps");

#endif /* WB_LIB_MAPS_H */
