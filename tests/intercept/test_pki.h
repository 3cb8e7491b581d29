// Certificates made at test time: a CA and leaves it signs (EC P-256 or RSA-2048), written as PEM
// files so real OpenSSL tools (s_server, s_client, curl) can use them too.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace wb::test {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Owner = std::unique_ptr<X509, X509Free>;
using PkeyOwner = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct CertAndKey {
  X509Owner cert;
  PkeyOwner key;
  std::string cert_pem() const;
  std::string key_pem() const;
  // Writes <dir>/<name>.crt and <dir>/<name>.key; returns the .crt path.
  std::string write(const std::string& dir, const std::string& name) const;
};

enum class KeyKind { kEcP256, kRsa2048 };

CertAndKey make_ca(const std::string& common_name, KeyKind kind = KeyKind::kEcP256);
// A server certificate for `dns_names` (and `ips`) signed by `ca`.
CertAndKey make_leaf(const CertAndKey& ca, const std::string& common_name,
                     const std::vector<std::string>& dns_names,
                     const std::vector<std::string>& ips = {}, KeyKind kind = KeyKind::kEcP256);

// A fresh temporary directory (removed by the caller with remove_all when wanted).
std::string make_temp_dir(const std::string& tag);
void write_text(const std::string& path, const std::string& text);

}  // namespace wb::test
