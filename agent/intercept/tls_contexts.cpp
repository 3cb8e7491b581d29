#include "agent/intercept/tls_contexts.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace wb::intercept {

namespace {

// A server that asks for a client certificate: we have none to give, and faking one would fail
// anyway. Returning -1 pauses the handshake with SSL_ERROR_WANT_X509_LOOKUP before our Certificate
// message is written, so the handler can tunnel instead.
int client_cert_callback(SSL* ssl, X509** /*cert*/, EVP_PKEY** /*key*/) {
  if (auto* endpoint = TlsEndpoint::from(ssl)) endpoint->note_client_cert_requested();
  return -1;
}

int alpn_select_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  const auto* endpoint = TlsEndpoint::from(ssl);
  if (endpoint == nullptr || endpoint->alpn_to_select().empty()) return SSL_TLSEXT_ERR_NOACK;
  const auto& want = endpoint->alpn_to_select();
  // Walk the client's list (bounded by inlen) and point into it: OpenSSL wants memory that lives
  // as long as the handshake, which the client's own list does.
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (len == 0 || i + 1 + len > inlen) break;
    if (len == want.size() && std::memcmp(in + i + 1, want.data(), len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// Server side: called only when the client's hello carried status_request.
int status_callback(SSL* ssl, void* /*arg*/) {
  auto* endpoint = TlsEndpoint::from(ssl);
  if (endpoint == nullptr || endpoint->ocsp_staple().empty()) return SSL_TLSEXT_ERR_NOACK;
  const auto& der = endpoint->ocsp_staple();
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, der.data(), der.size());
  // OpenSSL takes ownership of `copy`.
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  endpoint->note_stapled();
  return SSL_TLSEXT_ERR_OK;
}

Status common_setup(SSL_CTX* ctx, const TlsContextOptions& options) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return ossl_failure("set TLS versions");
  }
  // Renegotiation would let a peer restart a handshake we already judged.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle sessions give their read/write buffers back (memory per idle session).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (options.keylog) WB_TRY(KeyLog::attach(ctx, options.keylog));
  if (options.compact_idle) {
    if (!keep_with_ctx(ctx, std::make_shared<CompactIdle>())) return ossl_failure("compact_idle");
    SSL_CTX_set_keylog_callback(ctx, &TlsEndpoint::keylog_callback);
    SSL_CTX_set_msg_callback(ctx, &TlsEndpoint::msg_callback);
  }
  return {};
}

}  // namespace

std::vector<std::uint8_t> alpn_wire(const std::vector<std::string>& protocols) {
  std::vector<std::uint8_t> wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    wire.push_back(static_cast<std::uint8_t>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

Result<SslCtxPtr> make_upstream_ctx(const TlsContextOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return ossl_failure("SSL_CTX_new (upstream)");
  WB_TRY(common_setup(ctx.get(), options));
  if (SSL_CTX_load_verify_file(ctx.get(), options.trust_store.c_str()) != 1) {
    return ossl_failure("load trust store " + options.trust_store);
  }
  // Verify, but never abort: the verdict picks the issuer (see the top of the header).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_client_cert_cb(ctx.get(), &client_cert_callback);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (options.upstream_sessions &&
      !UpstreamSessions::attach(ctx.get(), options.upstream_sessions)) {
    return ossl_failure("attach upstream session cache");
  }
  if (options.verify_cache && !VerifyCache::attach(ctx.get(), options.verify_cache)) {
    return ossl_failure("attach upstream verification cache");
  }
  return ctx;
}

Result<SslCtxPtr> make_client_leg_ctx(const TlsContextOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return ossl_failure("SSL_CTX_new (client leg)");
  WB_TRY(common_setup(ctx.get(), options));
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_alpn_select_cb(ctx.get(), &alpn_select_callback, nullptr);
  SSL_CTX_set_tlsext_status_cb(ctx.get(), &status_callback);
  return ctx;
}

Status configure_upstream(TlsEndpoint& upstream, const UpstreamParams& params) {
  SSL* ssl = upstream.ssl();
  X509_VERIFY_PARAM* vp = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!params.sni.empty()) {
    if (SSL_set_tlsext_host_name(ssl, params.sni.c_str()) != 1) {
      return ossl_failure("set SNI " + params.sni);
    }
    if (X509_VERIFY_PARAM_set1_host(vp, params.sni.c_str(), params.sni.size()) != 1) {
      return ossl_failure("set verify host " + params.sni);
    }
  } else if (!params.destination_ip.empty()) {
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, params.destination_ip.c_str()) != 1) {
      return ossl_failure("set verify IP " + params.destination_ip);
    }
  }
  if (params.sessions != nullptr) {
    upstream.set_session_key(UpstreamSessions::key(params.sni, params.destination));
    if (SSL_SESSION* session = params.sessions->get(upstream.session_key())) {
      const int set = SSL_set_session(ssl, session);
      SSL_SESSION_free(session);
      if (set != 1) return ossl_failure("offer session for resumption");
    }
  }
  const auto wire = alpn_wire(params.alpn);
  // Note: SSL_set_alpn_protos returns 0 on success.
  if (!wire.empty() &&
      SSL_set_alpn_protos(ssl, wire.data(), static_cast<unsigned>(wire.size())) != 0) {
    return ossl_failure("set ALPN");
  }
  return {};
}

UpstreamResult upstream_result(const TlsEndpoint& upstream) {
  UpstreamResult r;
  SSL* ssl = upstream.ssl();
  r.leaf = SSL_get0_peer_certificate(ssl);
  r.verify_code = SSL_get_verify_result(ssl);
  r.verify_error = X509_verify_cert_error_string(r.verify_code);
  r.verified = r.leaf != nullptr && r.verify_code == X509_V_OK;
  r.alpn = upstream.alpn();
  return r;
}

Status configure_client_leg(TlsEndpoint& client_leg, const ClientLegParams& params) {
  SSL* ssl = client_leg.ssl();
  if (params.cert == nullptr || params.key == nullptr) {
    return make_error(std::errc::invalid_argument, "client leg needs a certificate and key");
  }
  // One call: leaf, key (checked against the leaf once; separate SSL_use_certificate,
  // SSL_use_PrivateKey and SSL_check_private_key compared them twice) and chain.
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (chain == nullptr || (params.issuer != nullptr && sk_X509_push(chain, params.issuer) == 0)) {
    sk_X509_free(chain);
    return ossl_failure("issuer chain");
  }
  const int installed = SSL_use_cert_and_key(ssl, params.cert, params.key, chain, /*override=*/1);
  sk_X509_free(chain);  // SSL_use_cert_and_key took its own references
  if (installed != 1) return ossl_failure("install forged certificate");
  client_leg.set_alpn_to_select(params.alpn);
  client_leg.set_ocsp_staple(params.ocsp_staple);
  return {};
}

}  // namespace wb::intercept
