// One SIP message (RFC 3261 section 7) parsed from a contiguous buffer: start line, headers
// (compact forms, folded lines, case-insensitive names) and body. Views point into the buffer
// the caller owns; nothing is allocated.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wb::sip {

struct Header {
  std::string_view name;   // as written (may be a compact form such as "l")
  std::string_view value;  // trimmed; folded continuation lines are joined with spaces
};

inline constexpr std::size_t kMaxHeaders = 128;

struct Message {
  bool is_request = false;
  std::string_view method;  // requests
  std::string_view uri;     // requests
  int status = 0;           // responses
  std::string_view reason;  // responses
  std::array<Header, kMaxHeaders> headers{};
  std::size_t header_count = 0;
  std::string_view body;

  // First header with this (long, canonical) name, also matched in its compact form.
  std::optional<std::string_view> header(std::string_view name) const;
  // Number of headers with this name (Via, Record-Route ... repeat).
  std::size_t count(std::string_view name) const;
};

// Long name for a compact form ("l" -> "Content-Length"), or the name itself.
std::string_view canonical_header_name(std::string_view name);

enum class HeadStatus : std::uint8_t { kOk, kError };

// Parses start line and headers of `head` (ending with the empty line), joining folded lines in
// place (the caller owns the bytes). Sets `error` to a static description on failure.
HeadStatus parse_head(std::span<char> head, Message& out, std::string_view& error);

// Tools to read common header values.
std::string_view uri_of(std::string_view name_addr);  // "Alice <sip:a@x>;tag=1" -> "sip:a@x"
std::string_view param_of(std::string_view value, std::string_view param);  // ";tag=..."
std::string_view user_host_of(std::string_view uri);  // "sip:alice@example.com;x" -> "alice@..."

struct CSeq {
  std::uint32_t number = 0;
  std::string_view method;
};
std::optional<CSeq> parse_cseq(std::string_view value);

}  // namespace wb::sip
