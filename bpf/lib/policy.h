/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Policy the agent writes at run time: candidate TCP ports and bypass CIDRs (LPM tries). */
#ifndef WB_LIB_POLICY_H
#define WB_LIB_POLICY_H

#include "bpf/lib/ip.h"
#include "bpf/lib/maps.h"

static __always_inline int wb_is_candidate(__u16 port_net) {
  __u16 port = bpf_ntohs(port_net);
  return bpf_map_lookup_elem(&wb_ports, &port) != NULL;
}

/* A TCP destination that is the CRL host (addr 16 bytes, v4-mapped for IPv4) on WB_CRL_PORT.
 * The map is only consulted for that port, so other traffic pays one compare. */
static __always_inline int wb_is_crl(const __u8* addr, __u16 port_net) {
  if (port_net != bpf_htons(WB_CRL_PORT)) return 0;
  struct wb_crl_key key;
  __builtin_memcpy(key.addr, addr, 16);
  return bpf_map_lookup_elem(&wb_crl_addr, &key) != NULL;
}

/* addr is 16 bytes, v4-mapped when !v6. */
static __always_inline int wb_cidr_match(void* v4_map, void* v6_map, const __u8* addr, __u8 v6) {
  if (v6) {
    struct wb_lpm_v6 key = {.prefixlen = 128};
    __builtin_memcpy(key.addr, addr, 16);
    return bpf_map_lookup_elem(v6_map, &key) != NULL;
  }
  struct wb_lpm_v4 key = {.prefixlen = 32};
  __builtin_memcpy(key.addr, addr + 12, 4);
  return bpf_map_lookup_elem(v4_map, &key) != NULL;
}

/* WB_REASON_EXCLUDED_SRC / _DST, or WB_REASON_MAX when neither address is excluded. */
static __always_inline __u32 wb_excluded(const struct wb_l3* l3) {
  if (wb_cidr_match(&wb_src_v4, &wb_src_v6, l3->saddr, l3->v6)) return WB_REASON_EXCLUDED_SRC;
  if (wb_cidr_match(&wb_dst_v4, &wb_dst_v6, l3->daddr, l3->v6)) return WB_REASON_EXCLUDED_DST;
  return WB_REASON_MAX;
}

#endif /* WB_LIB_POLICY_H */
