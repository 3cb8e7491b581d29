// TLS ClientHello carried in TLS records: locate the hello across records (without copying),
// then parse its body and extensions. Also the server-side ServerHello check.
#include <bitset>
#include <memory>

#include "agent/peek/detectors.h"
#include "agent/peek/reader.h"

namespace wb::peek::detail {
namespace {

constexpr std::uint8_t kChangeCipherSpec = 0x14;
constexpr std::uint8_t kHandshake = 0x16;
constexpr std::uint8_t kClientHello = 1;
constexpr std::uint8_t kServerHello = 2;
constexpr std::size_t kMaxRecordPayload = 16384;  // RFC 8446 5.1: TLSPlaintext.length <= 2^14
constexpr std::size_t kHandshakeHeader = 4;

enum : std::uint16_t {
  kExtServerName = 0,
  kExtStatusRequest = 5,
  kExtSupportedGroups = 10,
  kExtSignatureAlgorithms = 13,
  kExtAlpn = 16,
  kExtPreSharedKey = 41,
  kExtEarlyData = 42,
  kExtSupportedVersions = 43,
  kExtKeyShare = 51,
  kExtEch = 0xfe0d,
};

bool record_version_ok(std::uint8_t major, std::uint8_t minor) {
  return major == 3 && minor <= 4;
}

// Where the hello is: the first handshake record and how many records/bytes carry it.
struct Located {
  std::size_t first_record = 0;  // offset of the first handshake record
  std::size_t end = 0;           // offset just past the last record carrying the hello
  std::uint32_t body_length = 0;
  std::uint32_t records = 0;
};

// Walks records until the whole hello is present. Not-mine, need-more or error come back in
// `out`; true means `loc` is filled.
bool locate_hello(Bytes in, std::uint8_t want_type, Located& loc, Peek& out) {
  auto stop = [&out](Peek p) {
    out = std::move(p);
    return false;
  };
  std::size_t at = 0;
  // A second hello (after HelloRetryRequest) follows a 1-byte ChangeCipherSpec record.
  while (at < in.size() && in[at] == kChangeCipherSpec) {
    static constexpr std::uint8_t kCcs[] = {kChangeCipherSpec, 3, 0, 0, 1, 1};
    for (std::size_t i = 0; i < sizeof kCcs; ++i) {
      if (at + i >= in.size()) return stop(need_more());
      if (i == 2 ? in[at + i] > 4 : in[at + i] != kCcs[i]) {
        return stop(at == 0 ? not_mine() : failed(Kind::kTls, "malformed ChangeCipherSpec"));
      }
    }
    at += sizeof kCcs;
  }
  loc.first_record = at;
  std::uint64_t need = 0;  // handshake bytes needed (header + body), known after 4 bytes
  std::uint64_t have = 0;  // handshake payload bytes seen so far
  std::uint8_t header[kHandshakeHeader] = {};
  while (true) {
    // Before the first handshake record nothing says TLS yet: anything odd is "not mine".
    const bool claimed = at != 0;
    auto bad = [&](std::string why) {
      return stop(claimed ? failed(Kind::kTls, std::move(why)) : not_mine());
    };
    if (at >= in.size()) return stop(need_more());
    if (in[at] != kHandshake) return bad("non-handshake record where the ClientHello goes");
    if (at + 1 >= in.size()) return stop(need_more());
    if (in[at + 1] != 3) return bad("bad record version");
    if (at + 2 >= in.size()) return stop(need_more());
    if (!record_version_ok(in[at + 1], in[at + 2])) return bad("bad record version");
    if (at + Reader::kRecordHeader > in.size()) return stop(need_more());
    const std::size_t len = be16(in, at + 3);
    if (len == 0 || len > kMaxRecordPayload) {
      return stop(failed(Kind::kTls, "handshake record length " + std::to_string(len)));
    }
    ++loc.records;
    const std::size_t payload = at + Reader::kRecordHeader;
    const std::size_t avail = std::min(len, in.size() - payload);
    // Collect the 4-byte handshake header, which may itself straddle records.
    for (std::size_t i = 0; i < avail && have + i < kHandshakeHeader; ++i) {
      header[have + i] = in[payload + i];
    }
    have += avail;
    if (need == 0 && have >= kHandshakeHeader) {
      if (header[0] != want_type) {
        return stop(
            failed(Kind::kTls, "first handshake message has type " + std::to_string(header[0])));
      }
      loc.body_length = static_cast<std::uint32_t>(be24(header, 1));
      need = kHandshakeHeader + loc.body_length;
      // The most compact layout (maximal records) already exceeding the cap is final.
      const std::uint64_t records = (need + kMaxRecordPayload - 1) / kMaxRecordPayload;
      if (loc.first_record + need + Reader::kRecordHeader * records > kMaxPeekBytes) {
        return stop(failed(Kind::kTls, "hello of " + std::to_string(loc.body_length) +
                                           " bytes exceeds the 64 KiB peek cap"));
      }
    }
    if (avail < len) return stop(need_more());
    at = payload + len;
    if (need != 0 && have >= need) {
      loc.end = at;
      return true;
    }
  }
}

struct Walk {
  ClientHello& h;
  std::string error;

  bool fail(std::string why) {
    error = std::move(why);
    return false;
  }
  void note_grease(std::uint16_t v) { h.grease = h.grease || is_grease(v); }

  // A vector<u16> preceded by a length of `width` bytes that must fill the extension exactly.
  bool u16_list(Reader& r, int width, std::vector<std::uint16_t>& out, const char* what) {
    std::uint16_t len = 0;
    std::uint8_t len8 = 0;
    if (width == 1 ? !r.u8(len8) : !r.u16(len)) return fail(std::string(what) + ": truncated");
    if (width == 1) len = len8;
    if (len != r.remaining() || len % 2 != 0 || len == 0) {
      return fail(std::string(what) + ": bad list length");
    }
    for (std::size_t i = 0; i < len / 2u; ++i) {
      std::uint16_t v = 0;
      if (!r.u16(v)) return fail(std::string(what) + ": truncated");
      note_grease(v);
      out.push_back(v);
    }
    return true;
  }

  bool server_name(Reader& r) {
    std::uint16_t list = 0;
    if (!r.u16(list) || list != r.remaining() || list == 0) return fail("server_name: bad length");
    while (!r.empty()) {
      std::uint8_t type = 0;
      std::uint16_t len = 0;
      if (!r.u8(type) || !r.u16(len)) return fail("server_name: truncated entry");
      std::string name;
      if (!r.str(len, name)) return fail("server_name: entry overruns the list");
      if (type == 0 && h.sni.empty()) h.sni = std::move(name);
    }
    return true;
  }

  bool alpn(Reader& r) {
    std::uint16_t list = 0;
    if (!r.u16(list) || list != r.remaining() || list == 0) return fail("alpn: bad length");
    while (!r.empty()) {
      std::uint8_t len = 0;
      std::string proto;
      if (!r.u8(len) || len == 0 || !r.str(len, proto)) return fail("alpn: bad protocol name");
      h.alpn.push_back(std::move(proto));
    }
    return true;
  }

  bool key_share(Reader& r) {
    std::uint16_t list = 0;
    if (!r.u16(list) || list != r.remaining()) return fail("key_share: bad length");
    while (!r.empty()) {
      std::uint16_t group = 0, len = 0;
      if (!r.u16(group) || !r.u16(len) || !r.skip(len)) return fail("key_share: bad entry");
      note_grease(group);
      h.key_share_groups.push_back(group);
    }
    return true;
  }

  bool extension(Reader& r, std::uint16_t type) {
    switch (type) {
      case kExtServerName:
        return server_name(r);
      case kExtAlpn:
        return alpn(r);
      case kExtSupportedVersions:
        return u16_list(r, 1, h.supported_versions, "supported_versions");
      case kExtSignatureAlgorithms:
        return u16_list(r, 2, h.signature_algorithms, "signature_algorithms");
      case kExtSupportedGroups:
        return u16_list(r, 2, h.supported_groups, "supported_groups");
      case kExtKeyShare:
        return key_share(r);
      case kExtStatusRequest:
        h.status_request = true;
        break;
      case kExtPreSharedKey:
        h.pre_shared_key = true;
        break;
      case kExtEarlyData:
        h.early_data = true;
        break;
      case kExtEch:
        h.ech = true;
        break;
      default:
        break;
    }
    return r.skip(r.remaining());
  }

  bool extensions(Reader& r) {
    std::uint16_t total = 0;
    if (!r.u16(total) || total != r.remaining()) return fail("extensions: bad total length");
    // RFC 8446 4.2: at most one extension of each type. 8 KiB of bits, on the heap.
    auto seen = std::make_unique<std::bitset<65536>>();
    while (!r.empty()) {
      std::uint16_t type = 0, len = 0;
      if (!r.u16(type) || !r.u16(len)) return fail("extensions: truncated header");
      if (h.pre_shared_key) return fail("pre_shared_key is not the last extension");
      if (seen->test(type)) return fail("duplicate extension " + std::to_string(type));
      seen->set(type);
      note_grease(type);
      h.extensions.push_back(type);
      Reader::Scope scope(r, len);
      if (!scope.ok()) return fail("extension " + std::to_string(type) + " overruns the hello");
      if (!extension(r, type)) return false;
    }
    return true;
  }

  bool body(Reader& r) {
    std::uint8_t sid = 0, comp = 0;
    std::uint16_t suites = 0;
    if (!r.u16(h.legacy_version) || !r.skip(32)) return fail("truncated before session id");
    if (!r.u8(sid) || sid > 32 || !r.skip(sid)) return fail("bad session id");
    if (!r.u16(suites) || suites == 0 || suites % 2 != 0) return fail("bad cipher suite list");
    {
      Reader::Scope scope(r, suites);
      if (!scope.ok()) return fail("cipher suites overrun the hello");
      while (!r.empty()) {
        std::uint16_t s = 0;
        if (!r.u16(s)) return fail("cipher suites truncated");
        note_grease(s);
        h.cipher_suites.push_back(s);
      }
    }
    if (!r.u8(comp) || comp == 0 || !r.skip(comp)) return fail("bad compression methods");
    if (r.empty()) return true;  // no extensions at all (SSL 3.0 / old TLS clients)
    return extensions(r);
  }
};

}  // namespace

Peek detect_tls_client_hello(Bytes in) {
  Located loc;
  Peek out;
  if (!locate_hello(in, kClientHello, loc, out)) return out;
  out = found(Kind::kTls, loc.end);
  ClientHello& h = out.hello;
  h.record_version = be16(in, loc.first_record + 1);
  h.length = loc.body_length;
  h.records = loc.records;
  Reader r(in, loc.first_record, kHandshakeHeader, loc.body_length);
  Walk walk{h, {}};
  if (!walk.body(r)) return failed(Kind::kTls, "ClientHello: " + walk.error);
  return out;
}

// Server side: a handshake record whose first message is a ServerHello is enough to say TLS.
Peek detect_tls_server_hello(Bytes in) {
  static constexpr std::size_t kTypeAt = Reader::kRecordHeader;
  if (in.empty()) return need_more();
  if (in[0] != kHandshake) return not_mine();
  if (in.size() < 2) return need_more();
  if (in[1] != 3) return not_mine();
  if (in.size() < 3) return need_more();
  if (!record_version_ok(in[1], in[2])) return not_mine();
  if (in.size() <= kTypeAt) return need_more();
  const std::size_t len = be16(in, 3);
  if (len == 0 || len > kMaxRecordPayload) return failed(Kind::kTls, "bad handshake record length");
  if (in[kTypeAt] != kServerHello) return failed(Kind::kTls, "first server message is not a hello");
  return found(Kind::kTls, kTypeAt + 1);
}

}  // namespace wb::peek::detail
