// Bounded HTTP/1.x request parser for the bridge's revocation endpoints: one request per
// connection, no chunked bodies, headers <= kMaxHttpHeaderBytes, body <= kMaxHttpBodyBytes.
// Every prefix of a valid request is need_more; garbage is an error as soon as it is visible.
#include <cctype>
#include <charconv>
#include <optional>

#include "certs/http_handler.h"

namespace wb::certs {
namespace {

constexpr std::size_t kMaxHeaderLines = 100;

HttpParseResult fail(int status, std::string reason) {
  HttpParseResult r;
  r.state = HttpParse::error;
  r.error_status = status;
  r.error_reason = std::move(reason);
  return r;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "GET /x HTTP/1.1" (without the line end) into req; an error result on failure.
std::optional<HttpParseResult> parse_request_line(std::string_view line, HttpRequest& req) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return fail(400, "malformed request line");
  for (char c : line.substr(0, sp1)) {
    if (!is_tchar(c)) return fail(400, "malformed method");
  }
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return fail(400, "malformed request line");
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || !version.starts_with("HTTP/") || !std::isdigit(version[5]) ||
      version[6] != '.' || !std::isdigit(version[7])) {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  // Absolute form (sent to proxies) -> origin form.
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && target[0] != '/') {
    auto path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  if (target.empty() || target.front() != '/') return fail(400, "request target must be a path");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail(400, "invalid character in request target");
    }
  }
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(target);
  req.minor_version = version[7] - '0';
  return std::nullopt;
}

}  // namespace

HttpParseResult parse_http_request(std::span<const std::uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  HttpParseResult r;
  // The request line can be judged as soon as it is complete (e.g. TLS sent to port 80).
  std::size_t first_nl = text.find('\n');
  if (first_nl == std::string_view::npos) {
    if (text.size() > kMaxHttpHeaderBytes) return fail(431, "request header too large");
    for (char c : text.substr(0, text.find(' '))) {
      if (!is_tchar(c)) return fail(400, "malformed method");
    }
    return r;  // need_more
  }
  if (auto err = parse_request_line(text.substr(0, first_nl), r.request)) return *err;

  // End of headers: an empty line ("\r\n" or a bare "\n").
  std::size_t body_start = 0;
  std::size_t pos = first_nl + 1;
  std::size_t lines = 0;
  std::optional<std::size_t> content_length;
  while (true) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (text.size() > kMaxHttpHeaderBytes) return fail(431, "request header too large");
      return r;  // need_more
    }
    if (nl + 1 > kMaxHttpHeaderBytes) return fail(431, "request header too large");
    std::string_view line = text.substr(pos, nl - pos);
    if (line.empty() || line == "\r") {
      body_start = nl + 1;
      break;
    }
    if (++lines > kMaxHeaderLines) return fail(431, "too many header lines");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header line");
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(c)) return fail(400, "malformed header name");
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return fail(400, "malformed Content-Length");
      }
      if (content_length && *content_length != n) return fail(400, "conflicting Content-Length");
      content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      return fail(501, "Transfer-Encoding is not supported; send Content-Length");
    } else if (iequals(name, "Content-Type")) {
      r.request.content_type = std::string(value);
    }
    pos = nl + 1;
  }
  std::size_t length = content_length.value_or(0);
  if (length > kMaxHttpBodyBytes) return fail(413, "request body too large");
  if (text.size() - body_start < length) return r;  // need_more
  r.request.body = std::string(text.substr(body_start, length));
  r.state = HttpParse::complete;
  r.consumed = body_start + length;
  return r;
}

}  // namespace wb::certs
