/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Ethernet header and up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8), bounded. */
#ifndef WB_LIB_VLAN_H
#define WB_LIB_VLAN_H

#include <linux/if_ether.h>

#include "bpf/lib/cursor.h"

#define WB_VLAN_MAX_DEPTH 2

struct wb_l2 {
  __u8 dst[ETH_ALEN];
  __u16 proto;   /* network order, after the tags */
  __u8 tags;     /* VLAN tags found in the frame data */
  __u8 too_deep; /* more than WB_VLAN_MAX_DEPTH tags: not judged */
};

static __always_inline int wb_is_vlan(__u16 proto) {
  return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* 0 on success (cursor at the L3 header), -1 when the frame is too short. */
static __always_inline int wb_parse_l2(struct wb_cursor* c, struct wb_l2* l2) {
  struct ethhdr eth;
  if (wb_pull(c, &eth, sizeof(eth))) return -1;
  __builtin_memcpy(l2->dst, eth.h_dest, ETH_ALEN);
  l2->proto = eth.h_proto;
  l2->tags = 0;
  l2->too_deep = 0;
#pragma unroll
  for (int i = 0; i < WB_VLAN_MAX_DEPTH; i++) {
    if (!wb_is_vlan(l2->proto)) return 0;
    struct {
      __u16 tci;
      __u16 proto;
    } tag;
    if (wb_pull(c, &tag, sizeof(tag))) return -1;
    l2->proto = tag.proto;
    l2->tags++;
  }
  if (wb_is_vlan(l2->proto)) l2->too_deep = 1;
  return 0;
}

#endif /* WB_LIB_VLAN_H */
