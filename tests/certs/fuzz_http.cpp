// libFuzzer: the revocation endpoints' HTTP request parser and router. Invariants: a complete
// answer is a well-formed HTTP/1.x response whose Content-Length matches its body.
#include <cstdlib>
#include <string>

#include "certs/http_handler.h"
#include "tests/certs/fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = wb::certs::fuzz::world();
  std::span<const std::uint8_t> in(data, size);
  wb::certs::HttpParseResult parsed = wb::certs::parse_http_request(in);
  if (parsed.state == wb::certs::HttpParse::complete && parsed.consumed > size) std::abort();
  wb::certs::HttpOutcome out = wb::certs::handle_http(in, *w.svc, 1700000000);
  if (out.need_more) {
    if (size > wb::certs::kMaxHttpHeaderBytes + wb::certs::kMaxHttpBodyBytes) std::abort();
    return 0;
  }
  const std::string& r = out.response;
  auto end = r.find("\r\n\r\n");
  if (!r.starts_with("HTTP/1.") || end == std::string::npos) std::abort();
  auto cl = r.find("Content-Length: ");
  if (cl == std::string::npos || cl > end) std::abort();
  std::size_t length = std::strtoul(r.c_str() + cl + 16, nullptr, 10);
  bool head = size >= 5 && std::string_view(reinterpret_cast<const char*>(data), 5) == "HEAD ";
  if (!head && length != r.size() - end - 4) std::abort();
  return 0;
}
