// The two TLS contexts of interception and the per-connection setup of each leg.
//
// Upstream leg (we are the client, towards the real server): TLS 1.2/1.3, the client's SNI and
// ALPN list, the server certificate verified against `trust_store` and the SNI host name (or the
// destination IP when the client sent no SNI). Verification never aborts the handshake: its
// result chooses the trusted or the untrusted issuer for the forged certificate. A server that
// asks for a client certificate pauses the handshake (TlsFailure::kClientCertRequested), so
// nothing more reaches the server and the session can be tunnelled from the start.
//
// Client leg (we are the server, towards the client): the forged certificate + issuer chain, the
// ALPN the real server chose, an OCSP staple when the client asked for one, no session tickets
// or cache (a ticket forged for one site must never resume on another).
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/intercept/keylog.h"
#include "agent/intercept/ossl_types.h"
#include "agent/intercept/tls_endpoint.h"
#include "agent/intercept/upstream_sessions.h"
#include "agent/intercept/verify_cache.h"

namespace wb::intercept {

inline constexpr const char* kSystemTrustStore = "/etc/ssl/certs/ca-certificates.crt";

struct TlsContextOptions {
  std::string trust_store = kSystemTrustStore;  // PEM bundle for upstream verification
  std::shared_ptr<KeyLog> keylog;               // null: no key log
  // Upstream session resumption (make_upstream_ctx); null: every upstream handshake is full.
  std::shared_ptr<UpstreamSessions> upstream_sessions;
  // Kept upstream verification results (make_upstream_ctx); null: every chain is verified.
  std::shared_ptr<VerifyCache> verify_cache;
  // Endpoints track what TlsEndpoint::compact() needs (the traffic secrets and record counts,
  // through the key-log and message callbacks); false: they always stay on OpenSSL.
  bool compact_idle = false;
};

Result<SslCtxPtr> make_upstream_ctx(const TlsContextOptions& options);
Result<SslCtxPtr> make_client_leg_ctx(const TlsContextOptions& options);

struct UpstreamParams {
  std::string sni;                // the client's SNI ("" = none: no SNI sent, verify the IP)
  std::vector<std::string> alpn;  // the client's ALPN list, in order
  std::string destination_ip;     // verified against the certificate when sni is empty
  // Resumption: a session kept for (sni, destination "address:port") is offered, and the new
  // one kept. Null: a full handshake, nothing kept.
  UpstreamSessions* sessions = nullptr;
  std::string destination;
};
Status configure_upstream(TlsEndpoint& upstream, const UpstreamParams& params);

// What the upstream handshake told us (after it completed).
struct UpstreamResult {
  bool verified = false;     // chain to the trust store AND name match
  long verify_code = 0;      // X509_V_OK or the X509_V_ERR_* code
  std::string verify_error;  // X509_verify_cert_error_string
  X509* leaf = nullptr;      // owned by the SSL (valid while the endpoint lives)
  std::string alpn;          // what the server chose ("" = none)
};
UpstreamResult upstream_result(const TlsEndpoint& upstream);

struct ClientLegParams {
  X509* cert = nullptr;                   // the forged leaf
  EVP_PKEY* key = nullptr;                // its key
  X509* issuer = nullptr;                 // chain certificate sent after the leaf (may be null)
  std::string alpn;                       // the server's choice, offered back to the client
  std::vector<std::uint8_t> ocsp_staple;  // DER response, stapled if the client asks
};
Status configure_client_leg(TlsEndpoint& client_leg, const ClientLegParams& params);

// Encodes an ALPN list in wire format (length-prefixed). Entries that are empty or longer than
// 255 bytes are skipped.
std::vector<std::uint8_t> alpn_wire(const std::vector<std::string>& protocols);

}  // namespace wb::intercept
