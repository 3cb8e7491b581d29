#include "agent/intercept/verify_cache.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>

#include "agent/intercept/ossl_types.h"
#include "certs/ossl.h"

namespace wb::intercept {

namespace {

int on_verify(X509_STORE_CTX* ctx, void* arg) {
  return static_cast<VerifyCache*>(arg)->verify(ctx, static_cast<std::int64_t>(std::time(nullptr)));
}

// SHA-256 of each certificate the server sent (the leaf first), then the name it is verified
// for. Empty when a digest cannot be taken (then nothing is kept or found).
std::string chain_key(X509_STORE_CTX* ctx) {
  std::string key;
  const auto add_cert = [&](X509* cert) {
    auto sha = certs::cert_sha256(cert);
    if (!sha) return false;
    key.append(reinterpret_cast<const char*>(sha->data()), sha->size());
    return true;
  };
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  if (leaf == nullptr || !add_cert(leaf)) return {};
  // libssl passes the whole peer chain, leaf first, as the untrusted certificates: the leaf is
  // hashed once (a SHA-256 of its DER on every upstream handshake).
  STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(ctx);
  for (int i = 0; i < sk_X509_num(sent); ++i) {
    X509* cert = sk_X509_value(sent, i);
    if (i == 0 && cert == leaf) continue;
    if (!add_cert(cert)) return {};
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  key.push_back('\0');
  if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) key.append(host);
  key.push_back('\0');
  if (char* ip = X509_VERIFY_PARAM_get1_ip_asc(param)) {
    key.append(ip);
    OPENSSL_free(ip);
  }
  return key;
}

// The earliest notAfter of the chain OpenSSL built (leaf to trust anchor).
std::int64_t chain_not_after(X509_STORE_CTX* ctx, std::int64_t limit) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  if (chain == nullptr || sk_X509_num(chain) == 0) return 0;  // nothing built: keep nothing
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    auto until = certs::asn1_time_to_epoch(X509_get0_notAfter(sk_X509_value(chain, i)));
    if (!until) return 0;
    limit = std::min(limit, *until);
  }
  return limit;
}

}  // namespace

VerifyCache::VerifyCache(std::size_t capacity, std::chrono::seconds ttl)
    : ttl_(ttl), ok_until_(capacity) {}

bool VerifyCache::attach(SSL_CTX* ctx, std::shared_ptr<VerifyCache> cache) {
  VerifyCache* raw = cache.get();
  if (!keep_with_ctx(ctx, std::move(cache))) return false;
  SSL_CTX_set_cert_verify_callback(ctx, &on_verify, raw);
  return true;
}

int VerifyCache::verify(X509_STORE_CTX* ctx, std::int64_t now) {
  const std::string key = chain_key(ctx);
  if (!key.empty()) {
    std::lock_guard lock(mu_);
    if (const std::int64_t* until = ok_until_.find(key); until != nullptr && now < *until) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  const int ok = X509_verify_cert(ctx);
  if (ok == 1 && X509_STORE_CTX_get_error(ctx) == X509_V_OK && !key.empty()) {
    const std::int64_t until = chain_not_after(ctx, now + ttl_.count());
    if (until > now) {
      std::lock_guard lock(mu_);
      ok_until_.put(key, until);
    }
  }
  return ok;
}

std::size_t VerifyCache::size() const {
  std::lock_guard lock(mu_);
  return ok_until_.size();
}

}  // namespace wb::intercept
