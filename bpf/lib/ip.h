/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* IPv4 (options, fragments) and IPv6 (extension headers up to a bound) into one L3 summary
 * with v4-mapped addresses, so the policy and the flow table serve both families. */
#ifndef WB_LIB_IP_H
#define WB_LIB_IP_H

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "bpf/lib/cursor.h"

#define WB_IPV6_EXT_MAX 6 /* extension headers walked before giving up (bypass) */

enum wb_parse {
  WB_PARSE_OK = 0,
  WB_PARSE_MALFORMED, /* does not parse, or claims more bytes than the frame has */
  WB_PARSE_FRAGMENT,  /* a non-first fragment: no L4 header to judge */
};

struct wb_l3 {
  __u8 saddr[16]; /* v4-mapped for IPv4 */
  __u8 daddr[16];
  __u8 proto; /* L4 protocol after the extension headers */
  __u8 v6;
  __u8 first_fragment; /* L4 header present but the datagram continues in other fragments */
  __u8 pad;
  __u32 l4_len; /* bytes from the L4 header to the end of the IP datagram (this fragment) */
};

static __always_inline void wb_v4_mapped(__u8 out[16], __u32 addr) {
  __builtin_memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  __builtin_memcpy(out + 12, &addr, 4);
}

static __always_inline int wb_parse_ipv4(struct wb_cursor* c, struct wb_l3* l3) {
  __u32 start = c->off;
  struct iphdr ip;
  if (wb_pull(c, &ip, sizeof(ip))) return WB_PARSE_MALFORMED;
  if (ip.version != 4 || ip.ihl < 5) return WB_PARSE_MALFORMED;
  __u32 hlen = ip.ihl * 4;
  __u32 total = bpf_ntohs(ip.tot_len);
  if (total == 0) total = c->len - start; /* BIG TCP: the length lives in the skb only */
  if (total < hlen || total > c->len - start) return WB_PARSE_MALFORMED;
  if (wb_skip(c, hlen - sizeof(ip))) return WB_PARSE_MALFORMED; /* options */
  wb_v4_mapped(l3->saddr, ip.saddr);
  wb_v4_mapped(l3->daddr, ip.daddr);
  l3->proto = ip.protocol;
  l3->v6 = 0;
  l3->l4_len = total - hlen;
  __u16 frag = bpf_ntohs(ip.frag_off);
  if (frag & 0x1fff) return WB_PARSE_FRAGMENT;
  l3->first_fragment = (frag & 0x2000) ? 1 : 0;
  return WB_PARSE_OK;
}

static __always_inline int wb_is_ipv6_ext(__u8 nexthdr) {
  return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS ||
         nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_AH;
}

static __always_inline int wb_parse_ipv6(struct wb_cursor* c, struct wb_l3* l3) {
  __u32 start = c->off;
  struct ipv6hdr ip;
  if (wb_pull(c, &ip, sizeof(ip))) return WB_PARSE_MALFORMED;
  if (ip.version != 6) return WB_PARSE_MALFORMED;
  __u32 payload = bpf_ntohs(ip.payload_len);
  if (payload == 0) payload = c->len - start - sizeof(ip); /* jumbogram / BIG TCP */
  if (payload > c->len - start - sizeof(ip)) return WB_PARSE_MALFORMED;
  __builtin_memcpy(l3->saddr, &ip.saddr, 16);
  __builtin_memcpy(l3->daddr, &ip.daddr, 16);
  l3->v6 = 1;
  l3->first_fragment = 0;
  __u32 end = c->off + payload;
  __u8 nexthdr = ip.nexthdr;
#pragma unroll
  for (int i = 0; i < WB_IPV6_EXT_MAX; i++) {
    if (!wb_is_ipv6_ext(nexthdr)) break;
    struct {
      __u8 nexthdr;
      __u8 hdrlen;
      __u16 frag_off; /* only meaningful in the fragment header */
    } ext;
    if (wb_load(c, c->off, &ext, sizeof(ext))) return WB_PARSE_MALFORMED;
    __u32 len;
    if (nexthdr == IPPROTO_FRAGMENT) {
      __u16 frag = bpf_ntohs(ext.frag_off);
      if (frag & 0xfff8) return WB_PARSE_FRAGMENT;
      if (frag & 1) l3->first_fragment = 1;
      len = 8;
    } else if (nexthdr == IPPROTO_AH) {
      len = ((__u32)ext.hdrlen + 2) * 4;
    } else {
      len = ((__u32)ext.hdrlen + 1) * 8;
    }
    if (c->off + len > end || wb_skip(c, len)) return WB_PARSE_MALFORMED;
    nexthdr = ext.nexthdr;
  }
  if (wb_is_ipv6_ext(nexthdr)) return WB_PARSE_MALFORMED; /* chain longer than the bound */
  l3->proto = nexthdr;
  l3->l4_len = end - c->off;
  return WB_PARSE_OK;
}

#endif /* WB_LIB_IP_H */
