#include "tests/inspectors/h2_wire.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <deque>

namespace wb::test::h2 {
namespace {

std::uint32_t be24(std::span<const std::uint8_t> b) {
  return (std::uint32_t{b[0]} << 16) | (std::uint32_t{b[1]} << 8) | b[2];
}

std::uint32_t be32(std::span<const std::uint8_t> b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
}

// Decodes one complete header block; "" or the error.
std::string inflate(nghttp2_hd_inflater* inflater, const Bytes& block, Fields& fields) {
  const std::uint8_t* in = block.data();
  std::size_t left = block.size();
  for (;;) {
    nghttp2_nv nv{};
    int flags = 0;
    auto used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
    if (used < 0) return std::string("HPACK: ") + nghttp2_strerror(static_cast<int>(used));
    in += used;
    left -= static_cast<std::size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      fields.push_back({std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                        std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen),
                        (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater);
      return "";
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0) return "HPACK: truncated block";
  }
}

}  // namespace

Bytes frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
            std::span<const std::uint8_t> payload) {
  // (push_back rather than an initializer list: GCC 12 misreports the later insert as overflow)
  Bytes out;
  out.reserve(9 + payload.size());
  for (int shift : {16, 8, 0}) out.push_back(static_cast<std::uint8_t>(payload.size() >> shift));
  out.push_back(type);
  out.push_back(flags);
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(stream >> shift));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes settings(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values) {
  Bytes payload;
  for (auto [id, value] : values) {
    for (int shift : {8, 0}) payload.push_back(static_cast<std::uint8_t>(id >> shift));
    for (int shift : {24, 16, 8, 0}) payload.push_back(static_cast<std::uint8_t>(value >> shift));
  }
  return frame(0x4, 0, 0, payload);
}

Bytes settings_ack() {
  return frame(0x4, 0x1, 0, {});
}

Bytes data(std::uint32_t stream, std::string_view payload, bool end_stream) {
  return frame(0x0, end_stream ? 0x1 : 0, stream,
               {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
}

Bytes client_preface(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values) {
  Bytes out(kPreface.begin(), kPreface.end());
  Bytes s = settings(values);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Encoder::Encoder(std::size_t max_table) {
  nghttp2_hd_deflate_new(&deflater_, max_table);
}

Encoder::~Encoder() {
  nghttp2_hd_deflate_del(deflater_);
}

Bytes Encoder::block(const Fields& fields) {
  std::vector<nghttp2_nv> nva;
  for (const auto& f : fields) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())),
                   f.name.size(), f.value.size(),
                   static_cast<std::uint8_t>(f.never_index ? NGHTTP2_NV_FLAG_NO_INDEX : 0)});
  }
  Bytes out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()));
  auto n = nghttp2_hd_deflate_hd(deflater_, out.data(), out.size(), nva.data(), nva.size());
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

void Encoder::change_table_size(std::size_t size) {
  nghttp2_hd_deflate_change_table_size(deflater_, size);
}

std::size_t Encoder::dynamic_entries() const {
  // The count includes the 61 static entries (RFC 7541 Appendix A).
  return nghttp2_hd_deflate_get_num_table_entries(deflater_) - 61;
}

Bytes header_frames(std::uint32_t stream, const Bytes& block, const HeaderFrames& how) {
  Bytes prefix;
  prefix.reserve(16);  // (GCC 12 misreports pushes into an empty vector as overflow)
  std::uint8_t flags = 0;
  if (how.pad >= 0) {
    flags |= 0x8;
    prefix.push_back(static_cast<std::uint8_t>(how.pad));
  }
  if (how.type == 0x5) {
    for (int shift : {24, 16, 8, 0})
      prefix.push_back(static_cast<std::uint8_t>(how.promised >> shift));
  } else {
    if (how.end_stream) flags |= 0x1;
    if (how.priority) {
      flags |= 0x20;
      for (std::uint8_t b : {0x80, 0x00, 0x00, 0x07, 0x2a}) prefix.push_back(b);
    }
  }
  std::size_t first = how.fragment ? std::min(how.fragment, block.size()) : block.size();
  if (first == block.size()) flags |= 0x4;
  Bytes payload = prefix;
  payload.insert(payload.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(first));
  if (how.pad > 0) payload.insert(payload.end(), static_cast<std::size_t>(how.pad), 0);
  Bytes out = frame(how.type, flags, stream, payload);
  for (std::size_t at = first; at < block.size();) {
    std::size_t n = std::min(how.fragment, block.size() - at);
    Bytes part = frame(0x9, at + n == block.size() ? 0x4 : 0, stream,
                       std::span<const std::uint8_t>(block).subspan(at, n));
    out.insert(out.end(), part.begin(), part.end());
    at += n;
  }
  return out;
}

ClientView decode_server_stream(std::span<const std::uint8_t> bytes,
                                std::vector<std::uint32_t> table_sizes) {
  ClientView view;
  nghttp2_hd_inflater* inflater = nullptr;
  if (nghttp2_hd_inflate_new(&inflater) != 0) {
    view.error = "no inflater";
    return view;
  }
  std::deque<std::uint32_t> sizes(table_sizes.begin(), table_sizes.end());
  Block block;
  Bytes fragment;
  bool open = false;
  std::size_t at = 0;
  while (view.error.empty() && bytes.size() - at >= 9) {
    auto header = bytes.subspan(at, 9);
    std::uint32_t length = be24(header);
    if (bytes.size() - at - 9 < length) break;
    std::uint8_t type = header[3], flags = header[4];
    std::uint32_t stream = be32(header.subspan(5)) & 0x7fffffffu;
    auto payload = bytes.subspan(at + 9, length);
    at += 9 + length;
    view.largest_frame = std::max<std::size_t>(view.largest_frame, length);
    if (open && type != 0x9) {
      view.error = "frame of type " + std::to_string(type) + " inside a header block";
      break;
    }
    if (type == 0x1 || type == 0x5) {
      block = Block{type, stream, flags, {}, -1, 0, {}};
      std::size_t begin = 0, pad = 0;
      if (flags & 0x8) {
        if (payload.empty()) {
          view.error = "padded frame without pad length";
          break;
        }
        block.pad = payload[0];
        pad = payload[0];
        begin = 1;
      }
      std::size_t fields = type == 0x5 ? 4 : (flags & 0x20) ? 5 : 0;
      if (payload.size() < begin + fields + pad) {
        view.error = "frame shorter than its fields and padding";
        break;
      }
      block.fields_prefix.assign(payload.begin() + static_cast<std::ptrdiff_t>(begin),
                                 payload.begin() + static_cast<std::ptrdiff_t>(begin + fields));
      begin += fields;
      fragment.assign(payload.begin() + static_cast<std::ptrdiff_t>(begin),
                      payload.end() - static_cast<std::ptrdiff_t>(pad));
      open = true;
    } else if (type == 0x9) {
      if (!open || stream != block.stream) {
        view.error = "stray CONTINUATION";
        break;
      }
      fragment.insert(fragment.end(), payload.begin(), payload.end());
    } else {
      if (type == 0x0) view.data.append(payload.begin(), payload.end());
      if (type == 0x4 && (flags & 0x1) && !sizes.empty()) {
        nghttp2_hd_inflate_change_table_size(inflater, sizes.front());
        sizes.pop_front();
      }
      view.other_frames.push_back(std::to_string(type) + ":" + std::to_string(flags) + ":" +
                                  std::to_string(stream) + ":" + std::to_string(length));
      continue;
    }
    ++block.frames;
    if (flags & 0x4) {
      open = false;
      view.error = inflate(inflater, fragment, block.fields);
      view.blocks.push_back(block);
    }
  }
  view.leftover = bytes.size() - at;
  nghttp2_hd_inflate_del(inflater);
  return view;
}

std::string to_string(const Fields& fields) {
  std::string out;
  for (const auto& f : fields) out += f.name + ": " + f.value + (f.never_index ? " [NI]\n" : "\n");
  return out;
}

}  // namespace wb::test::h2
