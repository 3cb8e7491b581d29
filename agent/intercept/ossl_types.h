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

// An object an SSL_CTX's callbacks use, kept alive as long as the context (released when it is
// freed): one ex_data slot per type T.
template <typename T>
int ctx_owner_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr,
                               [](void* /*parent*/, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
                                 delete static_cast<std::shared_ptr<T>*>(ptr);
                               });
  return index;
}
template <typename T>
bool keep_with_ctx(SSL_CTX* ctx, std::shared_ptr<T> owner) {
  auto* holder = new std::shared_ptr<T>(std::move(owner));
  if (SSL_CTX_set_ex_data(ctx, ctx_owner_index<T>(), holder) != 1) {
    delete holder;
    return false;
  }
  return true;
}
// The object keep_with_ctx() attached, or null.
template <typename T>
T* kept_with_ctx(const SSL_CTX* ctx) {
  auto* holder = static_cast<std::shared_ptr<T>*>(SSL_CTX_get_ex_data(ctx, ctx_owner_index<T>()));
  return holder == nullptr ? nullptr : holder->get();
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
