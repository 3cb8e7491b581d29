// OCSP responder logic (RFC 6960) as pure functions: DER request in, DER response out. No I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "certs/keyring.h"
#include "certs/ossl.h"
#include "certs/revocation_store.h"

namespace wb::certs {

struct OcspIssuer {
  const Keyring* keyring;
  const RevocationStore* store;
};

struct OcspTiming {
  std::chrono::seconds validity{std::chrono::hours(1)};  // nextUpdate - thisUpdate
};

// At most this many single requests per OCSP request (more -> malformedRequest).
inline constexpr std::size_t kMaxOcspSingleRequests = 16;

// Answers every single request: good (issued by that issuer, not revoked), revoked (with the
// revocation time), unknown (not issued by it, or a CertID hash algorithm we cannot compute).
// Signed by the issuer of the first single request we know (responderID by key hash), nonce
// echoed, thisUpdate/nextUpdate set. Undecodable or oversized requests -> malformedRequest;
// requests naming only issuers we do not have -> unauthorized (RFC 5019 2.2.3). Never fails.
Bytes ocsp_respond(std::span<const std::uint8_t> request_der, std::span<const OcspIssuer> issuers,
                   std::int64_t now, OcspTiming timing = {});

// A signed response for one of our own certificates without a request (OCSP stapling).
Result<Bytes> ocsp_response_for(X509* cert, const OcspIssuer& issuer, std::int64_t now,
                                OcspTiming timing = {});

}  // namespace wb::certs
