// Building one forged certificate from the real server's leaf (pure: no cache, no I/O).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "certs/crl_host.h"
#include "certs/keyring.h"
#include "certs/ossl.h"

namespace wb::certs {

struct ForgeParams {
  X509* leaf = nullptr;     // the real server's certificate (read only)
  EVP_PKEY* key = nullptr;  // the forged certificate's key (from the pool)
  const Keyring* issuer = nullptr;
  const RevocationUrls* urls = nullptr;
  std::string serial;  // canonical hex, positive, from random_serial()
  std::int64_t now = 0;
  std::chrono::seconds max_validity{std::chrono::hours(24 * 397)};
};

// A fresh serial of 128 random bits (as an unsigned magnitude, so always positive; DER adds a
// leading zero octet when the top bit is set: 17 octets at most, RFC 5280 allows 20), never
// zero, canonical hex (no leading zeros). Empty if the random generator fails (forging then
// fails with "forge: serial" instead of signing a predictable serial).
std::string random_serial();

// The forged certificate: subject CN and every DNS/IP subjectAltName of the leaf (a leaf without
// SAN gets its CN as DNS SAN), issuer = the keyring's subject, validity
//   notBefore = max(leaf notBefore, now - 1 day, issuer notBefore)
//   notAfter  = min(leaf notAfter, notBefore + max_validity, issuer notAfter)
// (an expired leaf stays expired), keyUsage mirrored (minus CA bits and usages the forged key
// type cannot have), extKeyUsage copied, basicConstraints CA:FALSE, SKI/AKI, CRL DP and AIA
// (OCSP + caIssuers) from `urls`, signed with SHA-256 by the issuer key.
Result<X509Ptr> forge_certificate(const ForgeParams& params);

}  // namespace wb::certs
