#include "agent/tls13/key_schedule.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace wb::tls13 {
namespace {

// Fetched once per process: a fetch walks the provider's algorithm tables and takes locks.
EVP_KDF* hkdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

}  // namespace

Status hkdf_expand_label(Suite suite, std::span<const std::uint8_t> secret, std::string_view label,
                         std::span<std::uint8_t> out) {
  constexpr std::string_view kPrefix = "tls13 ";
  // HkdfLabel: uint16 length, opaque label<7..255> ("tls13 " + label), opaque context<0..255>.
  // Our labels ("key", "iv", "traffic upd") are short; 12 keeps the buffer fixed.
  if (label.size() > 12 || out.empty() || out.size() > 255) {
    return make_error(std::errc::invalid_argument, "hkdf_expand_label: bad label or length");
  }
  std::array<std::uint8_t, 2 + 1 + 6 + 12 + 1> info{};
  std::size_t n = 0;
  info[n++] = 0;
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(kPrefix.size() + label.size());
  for (char c : kPrefix) info[n++] = static_cast<std::uint8_t>(c);
  for (char c : label) info[n++] = static_cast<std::uint8_t>(c);
  info[n++] = 0;  // empty context

  if (hkdf() == nullptr) return make_error(std::errc::not_supported, "EVP_KDF_fetch HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(hkdf()));
  if (!ctx) return make_error(std::errc::not_enough_memory, "EVP_KDF_CTX_new");
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  char* digest = const_cast<char*>(params(suite).digest);
  OSSL_PARAM p[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), n),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), p) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return make_error(std::errc::protocol_error, "HKDF-Expand-Label failed");
  }
  return {};
}

TrafficKeys::~TrafficKeys() {
  wipe();
}

void TrafficKeys::wipe() {
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(iv.data(), iv.size());
}

Status derive_traffic_keys(Suite suite, const Secret& secret, TrafficKeys& out) {
  const SuiteParams p = params(suite);
  if (secret.size() != p.hash_len) {
    return make_error(std::errc::invalid_argument,
                      "traffic secret length does not match the suite");
  }
  out.wipe();
  WB_TRY(hkdf_expand_label(suite, secret.bytes(), "key", std::span(out.key.data(), p.key_len)));
  WB_TRY(hkdf_expand_label(suite, secret.bytes(), "iv", out.iv));
  return {};
}

Result<Secret> next_traffic_secret(Suite suite, const Secret& secret) {
  const SuiteParams p = params(suite);
  if (secret.size() != p.hash_len) {
    return make_error(std::errc::invalid_argument,
                      "traffic secret length does not match the suite");
  }
  std::array<std::uint8_t, kMaxSecretLen> raw{};
  auto st =
      hkdf_expand_label(suite, secret.bytes(), "traffic upd", std::span(raw.data(), p.hash_len));
  std::optional<Secret> next;
  if (st.ok()) next = Secret::from(std::span<const std::uint8_t>(raw.data(), p.hash_len));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!st.ok()) return st.error();
  if (!next) return make_error(std::errc::invalid_argument, "next traffic secret");
  return std::move(*next);
}

}  // namespace wb::tls13
