// The `crl_host` setting: the host name or IP address forged certificates name for their CRL
// distribution point, OCSP responder and issuer certificate. Each bridge behind a load balancer
// names itself; bridges sharing one issuer keyring may share one host.
#pragma once

#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::certs {

// Accepts a DNS host name (LDH labels of 1..63 characters, total <= 253, an optional final dot is
// dropped, lower-cased), an IPv4 literal (dotted quad) or an IPv6 literal (with or without
// brackets). Rejects, naming the problem: empty, a scheme ("http://"), a path, a port, spaces or
// other characters, too long, malformed IPv4/IPv6. Returns the canonical host as it goes into
// URLs (IPv6 in brackets: "[2001:db8::fe]").
Result<std::string> validate_crl_host(std::string_view host);

// The URLs one issuer's forged certificates carry (crl_host already validated).
struct RevocationUrls {
  std::string crl;         // http://<host>/wirebump/crl/<issuer-id>.crl
  std::string ocsp;        // http://<host>/wirebump/ocsp
  std::string ca_issuers;  // http://<host>/wirebump/ca/<issuer-id>.crt
  std::string ca_pem;      // http://<host>/wirebump/ca/<issuer-id>.pem (for people installing it)
};
RevocationUrls revocation_urls(std::string_view canonical_host, std::string_view issuer_id);

}  // namespace wb::certs
