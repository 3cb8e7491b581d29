/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* What a UDP datagram's first bytes are (PROTOCOL-FACTS.md): STUN with the magic cookie,
 * MS-TURN multiplexed (0xFF10), TURN ChannelData, classic RFC 3489 STUN (type whitelist plus an
 * attribute walk that must end exactly at the message length), DTLS, IETF QUIC long headers
 * (v1, v2, drafts, greased and Facebook versions), Google QUIC, RTP/RTCP. Matches structure,
 * never a single byte. */
#ifndef WB_LIB_UDP_CLASS_H
#define WB_LIB_UDP_CLASS_H

#include "bpf/lib/cursor.h"
#include "bpf/wirebump_abi.h"

#define WB_UDP_PEEK 16           /* payload bytes copied for the checks below */
#define WB_STUN_ATTRS_MAX 16     /* attributes walked in a classic STUN message */
#define WB_QUIC_MIN_INITIAL 1200 /* RFC 9000 14.1: client Initial datagrams are padded to this */

struct wb_udp_info {
  __u8 flow_class;   /* enum wb_flow_class */
  __u8 quic_initial; /* a client handshake packet: IETF Initial (>= 1200 bytes) or gQUIC CHLO */
};

static __always_inline __u16 wb_be16(const __u8* p) {
  return ((__u16)p[0] << 8) | p[1];
}
static __always_inline __u32 wb_be32(const __u8* p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

/* RFC 3489 message types: Binding and Shared Secret request / response / error response. */
static __always_inline int wb_classic_stun_type(__u16 type) {
  return type == 0x0001 || type == 0x0101 || type == 0x0111 || type == 0x0002 || type == 0x0102 ||
         type == 0x0112;
}

/* Attributes from payload offset 20 must tile the message exactly. */
static __always_inline int wb_stun_attrs_tile(const struct wb_cursor* c, __u32 payload,
                                              __u32 msg_end) {
  __u32 off = 20;
#pragma unroll
  for (int i = 0; i < WB_STUN_ATTRS_MAX; i++) {
    if (off == msg_end) return 1;
    __u8 attr[4];
    if (off + 4 > msg_end || wb_load(c, payload + off, attr, 4)) return 0;
    __u16 type = wb_be16(attr);
    if (type == 0) return 0;
    off += 4 + wb_be16(attr + 2);
  }
  return off == msg_end;
}

static __always_inline int wb_is_gquic_version(const __u8* v) {
  /* "Q0xx" or "T05x" in ASCII */
  return (v[0] == 'Q' || v[0] == 'T') && v[1] == '0' && v[2] >= '0' && v[2] <= '9' && v[3] >= '0' &&
         v[3] <= '9';
}

static __always_inline void wb_classify_quic_long(const __u8* b, __u32 plen,
                                                  struct wb_udp_info* info) {
  __u32 version = wb_be32(b + 1);
  __u8 type = (b[0] >> 4) & 3;
  if (b[5] > 20) return; /* DCID length */
  if (wb_is_gquic_version(b + 1)) {
    info->flow_class = WB_CLASS_GQUIC; /* Q046+ long header */
    info->quic_initial = type == 0 && plen >= WB_QUIC_MIN_INITIAL;
    return;
  }
  int initial_type;
  if (version == 1 || (version & 0xffffff00) == 0xff000000 || (version & 0xfffffff0) == 0xfaceb000)
    initial_type = 0;
  else if (version == 0x6b3343cf) /* v2, RFC 9369 */
    initial_type = 1;
  else if (version == 0 || (version & 0x0f0f0f0f) == 0x0a0a0a0a)
    initial_type = -1; /* version negotiation / forced negotiation: QUIC, never an Initial */
  else
    return;
  info->flow_class = WB_CLASS_QUIC;
  info->quic_initial = initial_type >= 0 && type == initial_type && plen >= WB_QUIC_MIN_INITIAL;
}

/* payload: offset of the UDP payload; plen: its length (from the UDP header). */
static __always_inline void wb_classify_udp(const struct wb_cursor* c, __u32 payload, __u32 plen,
                                            struct wb_udp_info* info) {
  __u8 b[WB_UDP_PEEK] = {};
  info->flow_class = WB_CLASS_UNKNOWN;
  info->quic_initial = 0;
  if (plen < 4) return;
  __u32 n = plen < WB_UDP_PEEK ? plen : WB_UDP_PEEK;
  if (n < WB_UDP_PEEK) {
    if (wb_load(c, payload, b, 4)) return; /* shorter datagrams: the first 4 bytes suffice below */
  } else if (wb_load(c, payload, b, WB_UDP_PEEK)) {
    return;
  }
  __u16 len16 = wb_be16(b + 2);

  if ((b[0] & 0xc0) == 0 && plen >= 20 && n == WB_UDP_PEEK) {
    /* STUN: length a multiple of 4, one message per datagram */
    if ((len16 & 3) == 0 && 20 + (__u32)len16 == plen) {
      if (b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xa4 && b[7] == 0x42) {
        info->flow_class = WB_CLASS_STUN;
        return;
      }
      if (wb_classic_stun_type(wb_be16(b)) && wb_stun_attrs_tile(c, payload, plen)) {
        info->flow_class = WB_CLASS_CLASSIC_STUN;
        return;
      }
    }
  }
  if (b[0] == 0xff && b[1] == 0x10 && plen >= 12 && (len16 + 12 == plen || len16 + 4 == plen)) {
    info->flow_class = WB_CLASS_MSTURN_MUX;
    return;
  }
  if (b[0] >= 0x40 && b[0] <= 0x7f &&
      (4 + (__u32)len16 == plen || ((4 + (__u32)len16 + 3) & ~3u) == plen)) {
    info->flow_class = WB_CLASS_TURN_CHANNEL;
    return;
  }
  if (n < WB_UDP_PEEK) return;
  /* DTLS record: content type 20..25, version 0xfeff (1.0) / 0xfefd (1.2, also 1.3 records) */
  if (b[0] >= 20 && b[0] <= 25 && b[1] == 0xfe && (b[2] == 0xff || b[2] == 0xfd) && plen >= 13) {
    __u8 rec[2];
    if (wb_load(c, payload + 11, rec, 2) == 0 && 13 + (__u32)wb_be16(rec) <= plen) {
      info->flow_class = WB_CLASS_DTLS;
      return;
    }
  }
  if (b[0] & 0x80) {
    wb_classify_quic_long(b, plen, info);
    if (info->flow_class != WB_CLASS_UNKNOWN) return;
  }
  /* Google QUIC before Q046: public flags (version 0x01 + 8-byte connection id 0x08, top bit
   * clear), then the ASCII version at offset 9 (present in client packets only). */
  if ((b[0] & 0x89) == 0x09 && plen >= 13 && wb_is_gquic_version(b + 9)) {
    info->flow_class = WB_CLASS_GQUIC;
    info->quic_initial = 1;
    return;
  }
  /* RTP v2 (payload types 0-34, 96-127) or RTCP (packet types 200-204), 12-byte header */
  if ((b[0] >> 6) == 2 && plen >= 12) {
    __u8 pt = b[1] & 0x7f;
    if (pt <= 34 || pt >= 96 || (b[1] >= 200 && b[1] <= 204)) info->flow_class = WB_CLASS_RTP;
  }
}

#endif /* WB_LIB_UDP_CLASS_H */
