// Small building blocks shared by the protocol parsers: the step result every incremental parser
// returns, bounds-checked big-endian reads, case-insensitive text helpers, and a bounded byte
// accumulator. Header-only, no I/O, nothing here reads outside the span it is given.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wb::inspect {

using Bytes = std::span<const std::uint8_t>;

inline std::string_view as_text(Bytes bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline Bytes as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Callers check `offset + 2 <= bytes.size()` (or + 4) first; these never see a short span.
inline std::uint16_t be16(Bytes bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((bytes[offset] << 8) | bytes[offset + 1]);
}
inline std::uint32_t be32(Bytes bytes, std::size_t offset) {
  return (std::uint32_t{bytes[offset]} << 24) | (std::uint32_t{bytes[offset + 1]} << 16) |
         (std::uint32_t{bytes[offset + 2]} << 8) | std::uint32_t{bytes[offset + 3]};
}

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

inline bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

inline bool icontains(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Digits only (no sign, no spaces); nullopt when empty, not a number or above `max`.
inline std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// Hexadecimal digits only, for chunk sizes; nullopt when empty, invalid or above `max`.
inline std::optional<std::uint64_t> parse_hex(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint64_t>(digit);
  }
  if (value > max) return std::nullopt;
  return value;
}

// Splits "line\r\n..." at the first CRLF; nullopt if there is none yet.
inline std::optional<std::size_t> find_crlf(std::string_view text, std::size_t from = 0) {
  auto pos = text.find("\r\n", from);
  if (pos == std::string_view::npos) return std::nullopt;
  return pos;
}

// Text from the wire for logs and JSON (nlohmann::json::dump throws on invalid UTF-8): at most
// `max` bytes, valid UTF-8 sequences kept, every other byte (and a sequence cut by `max`)
// replaced by '?'.
inline std::string printable(std::string_view text, std::size_t max) {
  text = text.substr(0, max);
  std::string out;
  out.reserve(text.size());
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return i < text.size() && static_cast<unsigned char>(text[i]) >= lo &&
           static_cast<unsigned char>(text[i]) <= hi;
  };
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t n = 0;  // length of a valid sequence starting here (RFC 3629 table)
    if (c < 0x80)
      n = 1;
    else if (c >= 0xc2 && c <= 0xdf && cont(i + 1))
      n = 2;
    else if (c == 0xe0 && cont(i + 1, 0xa0) && cont(i + 2))
      n = 3;
    else if (((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) && cont(i + 1) && cont(i + 2))
      n = 3;
    else if (c == 0xed && cont(i + 1, 0x80, 0x9f) && cont(i + 2))
      n = 3;
    else if (c == 0xf0 && cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3))
      n = 4;
    else if (c >= 0xf1 && c <= 0xf3 && cont(i + 1) && cont(i + 2) && cont(i + 3))
      n = 4;
    else if (c == 0xf4 && cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3))
      n = 4;
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// A byte accumulator with a hard capacity: the parsers copy at most what one frame needs into it,
// so memory per session is bounded by the largest frame they accept.
class BoundedBuffer {
 public:
  explicit BoundedBuffer(std::size_t capacity) : capacity_(capacity) {}
  std::size_t capacity() const { return capacity_; }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  Bytes view() const { return {data_.data(), data_.size()}; }
  std::span<std::uint8_t> mutable_view() { return {data_.data(), data_.size()}; }
  // Appends up to `limit` bytes (and never beyond capacity); returns how many were taken.
  std::size_t append(Bytes in, std::size_t limit) {
    std::size_t room = capacity_ - std::min(capacity_, data_.size());
    std::size_t take = std::min({in.size(), limit, room});
    data_.insert(data_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
    return take;
  }
  void truncate(std::size_t size) { data_.resize(std::min(size, data_.size())); }
  void clear() { data_.clear(); }
  // Frees memory held after a large frame so an idle session keeps only a small buffer.
  void shrink_if_above(std::size_t bytes) {
    if (data_.capacity() > bytes && data_.empty()) std::vector<std::uint8_t>().swap(data_);
  }

 private:
  std::size_t capacity_;
  std::vector<std::uint8_t> data_;
};

}  // namespace wb::inspect
