// SPDX-License-Identifier: (MIT OR GPL-2.0)
/* TC ingress classifier for the bridge ports (foundation version: counts and passes every
 * frame; the datapath issue adds parsing, policy and steering). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bpf/wirebump_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WB_REASON_MAX);
  __type(key, __u32);
  __type(value, struct wb_counter);
} wb_counters SEC(".maps");

SEC("tc")
int wb_tc_ingress(struct __sk_buff *skb) {
  __u32 reason = WB_REASON_NON_IP;
  struct wb_counter *c = bpf_map_lookup_elem(&wb_counters, &reason);
  if (c) {
    c->packets++;
    c->bytes += skb->len;
  }
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
