// The bridge's own little HTTP server logic, as a pure function (request bytes -> response bytes,
// no I/O): the CRLs, the OCSP responder and the issuer certificates that forged certificates
// point at. The daemon serves it on the crl host's port 80, one request per connection.
//
//   GET  /wirebump/crl/<issuer-id>.crl      application/pkix-crl (DER)
//   GET  /wirebump/ocsp/<base64 request>     application/ocsp-response (RFC 6960 appendix A.1)
//   POST /wirebump/ocsp                      body application/ocsp-request
//   GET  /wirebump/ca/<issuer-id>.crt        application/pkix-cert (DER)
//   GET  /wirebump/ca/<issuer-id>.pem        application/x-pem-file
// HEAD is answered like GET without the body. Anything else: 404 / 405 / 400 / 413 / 501 with a
// plain-text body saying why. Always Content-Length and Connection: close, HTTP/1.0 and 1.1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "certs/ossl.h"

namespace wb::certs {

inline constexpr std::size_t kMaxHttpHeaderBytes = 8192;
inline constexpr std::size_t kMaxHttpBodyBytes = 8192;

// What the handler needs from the certificate service.
class HttpBackend {
 public:
  virtual ~HttpBackend() = default;
  virtual std::shared_ptr<const Bytes> crl_der(std::string_view issuer_id) const = 0;
  // nullptr if no such issuer.
  virtual const Bytes* ca_der(std::string_view issuer_id) const = 0;
  virtual const std::string* ca_pem(std::string_view issuer_id) const = 0;
  virtual Bytes ocsp(std::span<const std::uint8_t> request_der, std::int64_t now) const = 0;
};

// A parsed request (the parser's output; exposed for tests and the fuzzer).
struct HttpRequest {
  std::string method;
  std::string target;
  int minor_version = 1;  // HTTP/1.<minor>
  std::string content_type;
  std::string body;
};

enum class HttpParse : std::uint8_t { complete, need_more, error };
struct HttpParseResult {
  HttpParse state = HttpParse::need_more;
  std::size_t consumed = 0;  // bytes of the request (complete only)
  int error_status = 0;      // 400 / 413 / 501 (error only)
  std::string error_reason;  // (error only)
  HttpRequest request;       // (complete only)
};
HttpParseResult parse_http_request(std::span<const std::uint8_t> bytes);

// need_more: read more and call again with everything received; otherwise `response` is the full
// response to write before closing.
struct HttpOutcome {
  bool need_more = false;
  std::string response;
  int status = 0;
};
HttpOutcome handle_http(std::span<const std::uint8_t> bytes, const HttpBackend& backend,
                        std::int64_t now);

// Helpers shared with tests: RFC 4648 base64 (standard alphabet, padding optional on decode) and
// %XX decoding; nullopt on bad input.
std::optional<Bytes> base64_decode(std::string_view text);
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace wb::certs
