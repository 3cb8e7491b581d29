// Routing of the revocation endpoints (see http_handler.h) and the response framing.
#include "certs/http_handler.h"

#include <array>

namespace wb::certs {
namespace {

constexpr std::string_view kOcspPath = "/wirebump/ocsp";
constexpr std::string_view kCrlPrefix = "/wirebump/crl/";
constexpr std::string_view kCaPrefix = "/wirebump/ca/";

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Internal Server Error";
  }
}

struct Reply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string allow;  // for 405
};

Reply text_reply(int status, std::string message) {
  return Reply{status, "text/plain; charset=utf-8", std::move(message) + "\n", {}};
}

HttpOutcome frame(const Reply& reply, int minor_version, bool head) {
  std::string out = "HTTP/1." + std::to_string(minor_version) + " " + std::to_string(reply.status) +
                    " " + reason_phrase(reply.status) + "\r\n";
  out += "Content-Type: " + reply.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  if (!reply.allow.empty()) out += "Allow: " + reply.allow + "\r\n";
  // Revocation data must not be served stale by caches between client and bridge.
  out += "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
  if (!head) out += reply.body;
  return HttpOutcome{false, std::move(out), reply.status};
}

std::string as_string(std::span<const std::uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// "<id><suffix>" with a plausible id (hex, bounded) or nullopt.
std::optional<std::string_view> issuer_file(std::string_view rest, std::string_view suffix) {
  if (!rest.ends_with(suffix)) return std::nullopt;
  rest.remove_suffix(suffix.size());
  if (rest.empty() || rest.size() > 64) return std::nullopt;
  for (char c : rest) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return rest;
}

Reply ocsp_reply(const HttpBackend& backend, std::span<const std::uint8_t> der, std::int64_t now) {
  Bytes resp = backend.ocsp(der, now);
  return Reply{200, "application/ocsp-response", as_string(resp), {}};
}

Reply route(const HttpRequest& req, const HttpBackend& backend, std::int64_t now) {
  std::string_view path = req.target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  bool get = req.method == "GET" || req.method == "HEAD";

  if (path == kOcspPath || path == std::string(kOcspPath) + "/") {
    if (req.method == "POST") {
      if (!req.content_type.empty() && req.content_type != "application/ocsp-request") {
        return text_reply(415, "OCSP requests are application/ocsp-request");
      }
      auto body =
          std::span(reinterpret_cast<const std::uint8_t*>(req.body.data()), req.body.size());
      return ocsp_reply(backend, body, now);
    }
    if (get) return text_reply(400, "GET needs the base64 OCSP request after /wirebump/ocsp/");
    Reply r = text_reply(405, "OCSP accepts GET and POST");
    r.allow = "GET, HEAD, POST";
    return r;
  }
  if (path.starts_with(std::string(kOcspPath) + "/")) {
    if (!get) {
      Reply r = text_reply(405, "POST OCSP requests to /wirebump/ocsp");
      r.allow = "GET, HEAD";
      return r;
    }
    // RFC 6960 A.1: url-encoding of the base64 of the DER request. Undecodable input is an
    // OCSP malformedRequest, which OCSP clients understand better than an HTTP error.
    auto decoded = percent_decode(path.substr(kOcspPath.size() + 1));
    std::optional<Bytes> der = decoded ? base64_decode(*decoded) : std::nullopt;
    return ocsp_reply(
        backend, der ? std::span<const std::uint8_t>(*der) : std::span<const std::uint8_t>(), now);
  }
  bool crl = path.starts_with(kCrlPrefix), ca = path.starts_with(kCaPrefix);
  if (crl || ca) {
    if (!get) {
      Reply r = text_reply(405, "only GET and HEAD are allowed here");
      r.allow = "GET, HEAD";
      return r;
    }
    std::string_view rest = path.substr(crl ? kCrlPrefix.size() : kCaPrefix.size());
    if (crl) {
      if (auto id = issuer_file(rest, ".crl")) {
        if (auto der = backend.crl_der(*id))
          return Reply{200, "application/pkix-crl", as_string(*der), {}};
        return text_reply(404, "no CRL for issuer " + std::string(*id));
      }
    } else if (auto id = issuer_file(rest, ".crt")) {
      if (const Bytes* der = backend.ca_der(*id)) {
        return Reply{200, "application/pkix-cert", as_string(*der), {}};
      }
      return text_reply(404, "no issuer certificate " + std::string(*id));
    } else if (auto pem_id = issuer_file(rest, ".pem")) {
      if (const std::string* pem = backend.ca_pem(*pem_id)) {
        return Reply{200, "application/x-pem-file", *pem, {}};
      }
      return text_reply(404, "no issuer certificate " + std::string(*pem_id));
    }
  }
  return text_reply(404,
                    "not found; this bridge serves /wirebump/crl/<id>.crl, /wirebump/ocsp, "
                    "/wirebump/ca/<id>.crt and /wirebump/ca/<id>.pem");
}

}  // namespace

HttpOutcome handle_http(std::span<const std::uint8_t> bytes, const HttpBackend& backend,
                        std::int64_t now) {
  HttpParseResult parsed = parse_http_request(bytes);
  if (parsed.state == HttpParse::need_more) return HttpOutcome{true, {}, 0};
  if (parsed.state == HttpParse::error) {
    return frame(text_reply(parsed.error_status, parsed.error_reason), 1, false);
  }
  return frame(route(parsed.request, backend, now), parsed.request.minor_version,
               parsed.request.method == "HEAD");
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int v = 0;
    for (std::size_t k = 1; k <= 2; ++k) {
      char c = text[i + k];
      int d = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
              : std::isxdigit(static_cast<unsigned char>(c)) ? (std::tolower(c) - 'a' + 10)
                                                             : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

std::optional<Bytes> base64_decode(std::string_view text) {
  static constexpr auto kTable = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = bytes[i] << 16;
    if (rest == 2) v |= bytes[i + 1] << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace wb::certs
