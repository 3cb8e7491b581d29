// RAII owners for the OpenSSL TLS objects interception uses. X509/EVP_PKEY owners come from
// certs/ossl.h; these add SSL and SSL_CTX.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "agent/common/result.h"

namespace wb::intercept {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// A new reference to a shared context (contexts are shared by every connection of a worker).
inline SslCtxPtr share_ctx(SSL_CTX* ctx) {
  SSL_CTX_up_ref(ctx);
  return SslCtxPtr(ctx);
}

// Drains OpenSSL's error queue into one line: "what: reason1; reason2". The queue is per thread;
// draining it keeps one connection's errors from showing up in the next one's.
std::string drain_ossl_errors();
inline Error ossl_failure(std::string what) {
  auto detail = drain_ossl_errors();
  if (!detail.empty()) what += ": " + detail;
  return make_error(std::errc::protocol_error, std::move(what));
}

}  // namespace wb::intercept
