#include "inspectors/http/h2_header_rewriter.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>

#include "inspectors/http/alt_svc.h"

namespace wb::http {
namespace {

// Our encoder's dynamic table never exceeds the HTTP/2 default, whatever the client allows.
constexpr std::size_t kOurTableLimit = h2::kDefaultTableSize;

void put_frame_header(std::vector<std::uint8_t>& out, std::size_t length, std::uint8_t type,
                      std::uint8_t flags, std::uint32_t stream_id) {
  out.push_back(static_cast<std::uint8_t>(length >> 16));
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.push_back(type);
  out.push_back(flags);
  out.push_back(static_cast<std::uint8_t>((stream_id >> 24) & 0x7f));
  out.push_back(static_cast<std::uint8_t>(stream_id >> 16));
  out.push_back(static_cast<std::uint8_t>(stream_id >> 8));
  out.push_back(static_cast<std::uint8_t>(stream_id));
}

void append(std::vector<std::uint8_t>& out, inspect::Bytes bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

std::unique_ptr<H2HeaderRewriter> H2HeaderRewriter::create(HeaderRewriterLimits limits) {
  nghttp2_hd_inflater* inflater = nullptr;
  nghttp2_hd_deflater* deflater = nullptr;
  if (nghttp2_hd_inflate_new(&inflater) != 0) return nullptr;
  if (nghttp2_hd_deflate_new(&deflater, kOurTableLimit) != 0) {
    nghttp2_hd_inflate_del(inflater);
    return nullptr;
  }
  return std::unique_ptr<H2HeaderRewriter>(new H2HeaderRewriter(limits, inflater, deflater));
}

H2HeaderRewriter::H2HeaderRewriter(HeaderRewriterLimits limits, nghttp2_hd_inflater* inflater,
                                   nghttp2_hd_deflater* deflater)
    : limits_(limits), inflater_(inflater), deflater_(deflater) {}

H2HeaderRewriter::~H2HeaderRewriter() {
  nghttp2_hd_inflate_del(inflater_);
  nghttp2_hd_deflate_del(deflater_);
}

// ---- client -> server: SETTINGS ----

void H2HeaderRewriter::client_frame(const FrameHeader& frame) {
  client_settings_ = frame.type == h2::kSettings && !(frame.flags & h2::kFlagAck);
  if (!client_settings_) return;
  client_remaining_ = frame.length;
  entry_size_ = 0;
  parsing_ = {};
  if (client_remaining_ == 0) client_payload({});
}

void H2HeaderRewriter::client_payload(inspect::Bytes bytes) {
  if (!client_settings_) return;
  std::size_t n = std::min<std::size_t>(bytes.size(), client_remaining_);
  for (std::size_t i = 0; i < n; ++i) {
    entry_[entry_size_++] = bytes[i];
    if (entry_size_ < sizeof entry_) continue;
    entry_size_ = 0;
    std::uint16_t id = inspect::be16(entry_, 0);
    std::uint32_t value = inspect::be32(entry_, 2);
    if (id == h2::kSettingsHeaderTableSize) parsing_.table_size = value;
    // Out-of-range values are a connection error the server reports; they change nothing here.
    if (id == h2::kSettingsMaxFrameSize && value >= h2::kDefaultMaxFrameSize &&
        value <= h2::kLargestMaxFrameSize) {
      parsing_.max_frame = value;
    }
  }
  client_remaining_ -= static_cast<std::uint32_t>(n);
  if (client_remaining_ != 0) return;
  client_settings_ = false;
  // The server may use a larger table as soon as it has read these SETTINGS, so our inflater
  // accepts the larger size now (only a bound: decoding follows the server's size updates).
  // Smaller sizes are never forced on it; the server's own size update shrinks its table.
  if (parsing_.table_size && *parsing_.table_size > inflater_table_) {
    std::uint32_t next = std::min(*parsing_.table_size, limits_.max_table);
    if (next > inflater_table_ && nghttp2_hd_inflate_change_table_size(inflater_, next) == 0) {
      inflater_table_ = next;
    }
  }
  if (pending_.size() == kMaxPendingSettings) {
    // A client far ahead of the server's ACKs: apply the oldest now rather than grow.
    apply(pending_.front());
    pending_.pop_front();
  }
  pending_.push_back(parsing_);
}

void H2HeaderRewriter::apply(const PendingSettings& settings) {
  if (settings.table_size &&
      nghttp2_hd_deflate_change_table_size(deflater_, *settings.table_size) == 0) {
    encoder_table_ =
        static_cast<std::uint32_t>(std::min<std::size_t>(*settings.table_size, kOurTableLimit));
  }
  if (settings.max_frame) max_frame_ = *settings.max_frame;
}

// ---- server -> client: header blocks ----

void H2HeaderRewriter::reset_block() {
  in_block_ = false;
  in_frame_ = false;
  raw_.clear();
  payload_.clear();
  fragment_.clear();
  prefix_.clear();
  pad_length_ = 0;
  // Blocks are rare and bounded; do not keep their peak size for the whole connection.
  if (raw_.capacity() > 64 * 1024) {
    raw_.shrink_to_fit();
    payload_.shrink_to_fit();
    fragment_.shrink_to_fit();
  }
}

void H2HeaderRewriter::fail(std::string why, std::vector<std::uint8_t>& out) {
  ++errors_;
  error_ = why;
  if (blocks_rewritten_ == 0) {
    // The client's decoder still mirrors the server's encoder: hand over what we held, unchanged,
    // and stop rewriting this direction.
    passthrough_ = true;
    append(out, raw_);
  } else {
    // The client's decoder follows our encoder now; the server's bytes would corrupt it.
    deny_ = "HTTP/2 header block: " + why;
  }
  bool mid_frame = in_frame_;
  reset_block();
  in_frame_ = mid_frame && passthrough_;  // the rest of that frame's payload passes through
}

bool H2HeaderRewriter::begin_frame(const FrameHeader& frame, inspect::Bytes raw,
                                   std::vector<std::uint8_t>& out) {
  if (passthrough_ || deny_) return false;
  if (in_block_ && (frame.type != h2::kContinuation || frame.stream_id != first_.stream_id)) {
    fail("a header block was interrupted by a frame of type " + std::to_string(frame.type), out);
    return false;
  }
  if (frame.type == h2::kSettings && (frame.flags & h2::kFlagAck)) {
    if (!pending_.empty()) {
      apply(pending_.front());
      pending_.pop_front();
    }
    return false;
  }
  bool opens = frame.type == h2::kHeaders || frame.type == h2::kPushPromise;
  if (!opens && frame.type != h2::kContinuation) return false;
  if (!opens && !in_block_) {
    fail("CONTINUATION without a header block", out);
    return false;
  }
  if (raw_.size() + raw.size() + frame.length > limits_.max_block) {
    fail("header block over " + std::to_string(limits_.max_block) + " bytes", out);
    return false;
  }
  if (opens) {
    first_ = frame;
    in_block_ = true;
  }
  current_ = frame;
  in_frame_ = true;
  payload_.clear();
  append(raw_, raw);
  return true;
}

void H2HeaderRewriter::frame_payload(inspect::Bytes bytes, std::vector<std::uint8_t>& out) {
  if (!in_frame_) return;
  if (passthrough_) {
    append(out, bytes);
    return;
  }
  append(raw_, bytes);
  append(payload_, bytes);
}

bool H2HeaderRewriter::take_fragment(inspect::Bytes payload, std::vector<std::uint8_t>& out) {
  std::size_t begin = 0;
  std::size_t padding = 0;
  if (current_.type != h2::kContinuation) {
    if (current_.flags & h2::kFlagPadded) {
      if (payload.empty()) return fail("padded frame without a pad length", out), false;
      padding = pad_length_ = payload[0];
      begin = 1;
    }
    // HEADERS may carry priority fields (5 bytes), PUSH_PROMISE carries the promised stream id.
    std::size_t fields = current_.type == h2::kPushPromise           ? 4
                         : (current_.flags & h2::kFlagPriority) != 0 ? 5
                                                                     : 0;
    if (payload.size() < begin + fields) return fail("frame shorter than its fields", out), false;
    prefix_.assign(payload.begin() + static_cast<std::ptrdiff_t>(begin),
                   payload.begin() + static_cast<std::ptrdiff_t>(begin + fields));
    begin += fields;
    if (padding > payload.size() - begin) return fail("padding longer than the frame", out), false;
  }
  append(fragment_, payload.subspan(begin, payload.size() - begin - padding));
  return true;
}

void H2HeaderRewriter::end_frame(std::vector<std::uint8_t>& out) {
  if (!in_frame_) return;
  in_frame_ = false;
  if (passthrough_) return;  // a frame that failed mid-way has been passed through
  if (!take_fragment(payload_, out)) return;
  if (!(current_.flags & h2::kFlagEndHeaders)) return;  // CONTINUATION follows

  std::vector<HeaderField> fields;
  std::vector<std::uint8_t> block;
  std::string why;
  if (!decode(fields, why)) return fail(why, out);
  std::uint64_t changed = 0;
  std::erase_if(fields, [&](HeaderField& field) {
    if (!inspect::iequals(field.name, "alt-svc") || !advertises_h3(field.value)) return false;
    ++changed;
    field.value = strip_h3(field.value);
    return field.value.empty();
  });
  if (!encode(fields, block, why)) return fail(why, out);
  alt_svc_changed_ += changed;
  ++blocks_rewritten_;
  emit(block, out);
  reset_block();
}

bool H2HeaderRewriter::decode(std::vector<HeaderField>& fields, std::string& why) {
  const std::uint8_t* in = fragment_.data();
  std::size_t left = fragment_.size();
  std::size_t decoded = 0;
  for (;;) {
    nghttp2_nv nv{};
    int flags = 0;
    auto used = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
    if (used < 0) {
      why = std::string("HPACK: ") + nghttp2_strerror(static_cast<int>(used));
      return false;
    }
    in += used;
    left -= static_cast<std::size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      // RFC 7541 4.1 entry size; bounds what indexed references to big entries can expand to.
      decoded += nv.namelen + nv.valuelen + 32;
      if (decoded > limits_.max_decoded) {
        why = "decoded header list over " + std::to_string(limits_.max_decoded) + " bytes";
        return false;
      }
      fields.push_back({std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                        std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen),
                        (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return true;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0) {
      why = "HPACK: header block ended inside a field";
      return false;
    }
  }
}

bool H2HeaderRewriter::encode(const std::vector<HeaderField>& fields,
                              std::vector<std::uint8_t>& block, std::string& why) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& field : fields) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.value.data())),
                   field.name.size(), field.value.size(),
                   static_cast<std::uint8_t>(field.never_index ? NGHTTP2_NV_FLAG_NO_INDEX
                                                               : NGHTTP2_NV_FLAG_NONE)});
  }
  block.resize(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()));
  auto size = nghttp2_hd_deflate_hd(deflater_, block.data(), block.size(), nva.data(), nva.size());
  if (size < 0) {
    why = std::string("HPACK encoding: ") + nghttp2_strerror(static_cast<int>(size));
    return false;
  }
  block.resize(static_cast<std::size_t>(size));
  return true;
}

void H2HeaderRewriter::emit(const std::vector<std::uint8_t>& block,
                            std::vector<std::uint8_t>& out) const {
  // The first frame keeps its type, stream, END_STREAM / PRIORITY / PADDED flags, priority
  // fields or promised stream id, and its padding length; the block is split at the client's
  // SETTINGS_MAX_FRAME_SIZE into CONTINUATION frames.
  const bool padded = (first_.flags & h2::kFlagPadded) != 0;
  const std::size_t overhead = (padded ? 1 + pad_length_ : 0) + prefix_.size();
  const std::size_t first = std::min(block.size(), max_frame_ - overhead);
  std::uint8_t flags = static_cast<std::uint8_t>(first_.flags & ~h2::kFlagEndHeaders);
  if (first == block.size()) flags |= h2::kFlagEndHeaders;
  put_frame_header(out, overhead + first, first_.type, flags, first_.stream_id);
  if (padded) out.push_back(pad_length_);
  out.insert(out.end(), prefix_.begin(), prefix_.end());
  out.insert(out.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(first));
  if (padded) out.insert(out.end(), pad_length_, 0);
  for (std::size_t at = first; at < block.size();) {
    std::size_t n = std::min<std::size_t>(block.size() - at, max_frame_);
    std::uint8_t end = at + n == block.size() ? h2::kFlagEndHeaders : 0;
    put_frame_header(out, n, h2::kContinuation, end, first_.stream_id);
    out.insert(out.end(), block.begin() + static_cast<std::ptrdiff_t>(at),
               block.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
}

void H2HeaderRewriter::abort(std::string_view why, std::vector<std::uint8_t>& out) {
  if (in_block_ || in_frame_) fail(std::string(why), out);
}

}  // namespace wb::http
