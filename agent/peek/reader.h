// Internal to wb_peek: a bounds-checked sequential reader (in the spirit of BoringSSL's CBS).
//
// It reads either a contiguous span or the payload of consecutive TLS records in place: in
// record mode it steps over each 5-byte record header, so a ClientHello split over several
// records is parsed without being copied. Every read checks both the end of the input and the
// current limit (set by Reader::Scope for a length-prefixed field) and fails instead of reading
// past either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace wb::peek::detail {

inline std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
inline std::uint32_t be24(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 16 | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         b[at + 2];
}

// GREASE values (RFC 8701): 0x0A0A, 0x1A1A, ... 0xFAFA.
inline bool is_grease(std::uint16_t v) {
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

class Reader {
 public:
  static constexpr std::size_t kRecordHeader = 5;

  // Contiguous bytes.
  explicit Reader(std::span<const std::uint8_t> bytes)
      : in_(bytes), at_(0), record_left_(0), records_(false), limit_(bytes.size()) {}
  // The payload of the TLS records starting at `record_start`, of which the first `skip` payload
  // bytes are skipped; at most `limit` payload bytes are readable.
  Reader(std::span<const std::uint8_t> input, std::size_t record_start, std::size_t skip,
         std::size_t limit)
      : in_(input), at_(record_start), record_left_(0), records_(true), limit_(skip + limit) {
    this->skip(skip);
  }

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return limit_ - pos_; }
  bool empty() const { return pos_ == limit_; }

  bool u8(std::uint8_t& out) {
    if (pos_ >= limit_) return false;
    if (records_ && record_left_ == 0) {
      // Record headers were validated by the caller; still never trust them blindly.
      if (in_.size() - at_ < kRecordHeader) return false;
      record_left_ = be16(in_, at_ + 3);
      at_ += kRecordHeader;
      if (record_left_ == 0) return false;
    }
    if (at_ >= in_.size()) return false;
    out = in_[at_++];
    if (records_) --record_left_;
    ++pos_;
    return true;
  }
  bool u16(std::uint16_t& out) {
    std::uint8_t hi = 0, lo = 0;
    if (!u8(hi) || !u8(lo)) return false;
    out = static_cast<std::uint16_t>(hi << 8 | lo);
    return true;
  }
  bool u24(std::uint32_t& out) {
    std::uint8_t a = 0;
    std::uint16_t bc = 0;
    if (!u8(a) || !u16(bc)) return false;
    out = static_cast<std::uint32_t>(a) << 16 | bc;
    return true;
  }
  bool skip(std::size_t n) {
    if (n > remaining()) return false;
    std::uint8_t ignored = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!u8(ignored)) return false;
    }
    return true;
  }
  bool str(std::size_t n, std::string& out) {
    if (n > remaining()) return false;
    out.clear();
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t c = 0;
      if (!u8(c)) return false;
      out.push_back(static_cast<char>(c));
    }
    return true;
  }

  // Narrows the readable window to the next `len` bytes for a length-prefixed field; the
  // destructor restores the outer window. ok() is false when `len` overruns the outer one.
  class Scope {
   public:
    Scope(Reader& r, std::size_t len) : r_(r), outer_(r.limit_), ok_(len <= r.remaining()) {
      if (ok_) r_.limit_ = r_.pos_ + len;
    }
    ~Scope() { r_.limit_ = outer_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    bool ok() const { return ok_; }

   private:
    Reader& r_;
    std::size_t outer_;
    bool ok_;
  };

 private:
  std::span<const std::uint8_t> in_;
  std::size_t at_;           // index in in_ of the next byte
  std::size_t record_left_;  // payload bytes left in the current record (record mode)
  bool records_;
  std::size_t pos_ = 0;  // logical bytes read
  std::size_t limit_;    // logical position reads may not pass
};

}  // namespace wb::peek::detail
