// libFuzzer: the OCSP responder on hostile DER. Mode byte 0: the input is the request; otherwise
// the input is XOR-ed over a valid request for a certificate we issued, to reach deep paths.
// Invariant: the answer is always a decodable OCSPResponse.
#include <cstdlib>

#include "certs/ocsp_responder.h"
#include "tests/certs/fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& w = wb::certs::fuzz::world();
  if (size == 0) return 0;
  wb::certs::Bytes req;
  if (data[0] == 0) {
    req.assign(data + 1, data + size);
  } else {
    req = w.valid_request;
    for (std::size_t i = 1; i < size && i - 1 < req.size(); ++i) req[i - 1] ^= data[i];
    if (size - 1 > req.size()) req.insert(req.end(), data + 1 + req.size(), data + size);
  }
  wb::certs::Bytes resp = w.svc->ocsp(req, 1700000000);
  const unsigned char* p = resp.data();
  wb::certs::OcspResponsePtr parsed(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(resp.size())));
  if (!parsed) std::abort();
  return 0;
}
