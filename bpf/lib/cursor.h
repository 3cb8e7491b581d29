/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Bounds-checked parse cursor over a packet, by offset (Cilium's ctx_load_bytes style).
 *
 * Every read goes through wb_load(): the range is checked against the packet's full length
 * first, then copied to the stack with the context's load helper, which checks again. Offsets
 * rather than direct packet pointers because (1) TC sees GSO/GRO skbs whose headers are not
 * always in the linear area, and (2) variable-length headers (IPv4 options, IPv6 extension
 * chains) stay simple for the verifier. A program defines WB_CTX_XDP before including this
 * header to get the XDP flavour. */
#ifndef WB_LIB_CURSOR_H
#define WB_LIB_CURSOR_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct wb_cursor {
  void* ctx;
  __u32 off; /* next unread byte */
  __u32 len; /* bytes in the packet (skb->len / xdp frame length) */
};

static __always_inline long wb_ctx_load(void* ctx, __u32 off, void* to, __u32 n) {
#ifdef WB_CTX_XDP
  return bpf_xdp_load_bytes(ctx, off, to, n);
#else
  return bpf_skb_load_bytes(ctx, off, to, n);
#endif
}

/* Copies n bytes at absolute offset off; -1 when they are not all inside the packet. */
static __always_inline int wb_load(const struct wb_cursor* c, __u32 off, void* to, __u32 n) {
  if (off > c->len || n > c->len - off) return -1;
  return wb_ctx_load(c->ctx, off, to, n) ? -1 : 0;
}

/* Copies n bytes at the cursor and advances past them. */
static __always_inline int wb_pull(struct wb_cursor* c, void* to, __u32 n) {
  if (wb_load(c, c->off, to, n)) return -1;
  c->off += n;
  return 0;
}

/* Advances n bytes without reading them; -1 when that leaves the packet. */
static __always_inline int wb_skip(struct wb_cursor* c, __u32 n) {
  if (c->off > c->len || n > c->len - c->off) return -1;
  c->off += n;
  return 0;
}

static __always_inline int wb_bytes_equal(const __u8* a, const __u8* b, int n) {
  /* clang 14 turns __builtin_memcmp into an unresolved extern: compare by hand. */
  for (int i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

#endif /* WB_LIB_CURSOR_H */
