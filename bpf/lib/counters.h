/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Per-CPU counters by reason and by class, and the LRU flow table. */
#ifndef WB_LIB_COUNTERS_H
#define WB_LIB_COUNTERS_H

#include "bpf/lib/maps.h"

static __always_inline void wb_count(void* map, __u32 index, __u32 bytes) {
  struct wb_counter* c = bpf_map_lookup_elem(map, &index);
  if (c) { /* per-CPU: no atomics needed */
    c->packets++;
    c->bytes += bytes;
  }
}

/* Records the packet in its flow's entry; returns the class the flow has (its first judged
 * class wins: a QUIC flow stays QUIC after its Initial, a STUN-then-RTP flow stays STUN). */
static __always_inline __u8 wb_flow_update(const struct wb_flow_key* key, __u8 verdict, __u8 reason,
                                           __u8 flow_class, __u32 bytes) {
  __u64 now = bpf_ktime_get_ns();
  struct wb_flow_value* v = bpf_map_lookup_elem(&wb_flows, key);
  if (!v) {
    struct wb_flow_value fresh = {
        .first_seen_ns = now,
        .last_seen_ns = now,
        .packets = 1,
        .bytes = bytes,
        .verdict = verdict,
        .reason = reason,
        .flow_class = flow_class,
    };
    bpf_map_update_elem(&wb_flows, key, &fresh, BPF_ANY);
    return flow_class;
  }
  /* Several CPUs may update one flow: atomics keep packets/bytes exact. */
  __sync_fetch_and_add(&v->packets, 1);
  __sync_fetch_and_add(&v->bytes, bytes);
  v->last_seen_ns = now;
  v->verdict = verdict;
  v->reason = reason;
  if (v->flow_class == WB_CLASS_UNKNOWN) v->flow_class = flow_class;
  return v->flow_class;
}

#endif /* WB_LIB_COUNTERS_H */
