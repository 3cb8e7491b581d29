#include "tests/intercept/test_pki.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace wb::test {

namespace {

PkeyOwner make_key(KeyKind kind) {
  PkeyOwner key(kind == KeyKind::kEcP256 ? EVP_EC_gen("prime256v1") : EVP_RSA_gen(2048));
  if (!key) throw std::runtime_error("key generation");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Owner new_cert(const std::string& cn, EVP_PKEY* key) {
  X509Owner cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 30);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

CertAndKey make_ca(const std::string& common_name, KeyKind kind) {
  CertAndKey ca{X509Owner(), make_key(kind)};
  ca.cert = new_cert(common_name, ca.key.get());
  X509_set_issuer_name(ca.cert.get(), X509_get_subject_name(ca.cert.get()));
  add_ext(ca.cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.cert.get(), ca.cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.cert.get(), ca.cert.get(), NID_subject_key_identifier, "hash");
  X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256());
  return ca;
}

CertAndKey make_leaf(const CertAndKey& ca, const std::string& common_name,
                     const std::vector<std::string>& dns_names, const std::vector<std::string>& ips,
                     KeyKind kind) {
  CertAndKey leaf{X509Owner(), make_key(kind)};
  leaf.cert = new_cert(common_name, leaf.key.get());
  X509_set_issuer_name(leaf.cert.get(), X509_get_subject_name(ca.cert.get()));
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!san.empty()) add_ext(leaf.cert.get(), ca.cert.get(), NID_subject_alt_name, san);
  add_ext(leaf.cert.get(), ca.cert.get(), NID_basic_constraints, "CA:FALSE");
  add_ext(leaf.cert.get(), ca.cert.get(), NID_ext_key_usage, "serverAuth");
  add_ext(leaf.cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid");
  X509_sign(leaf.cert.get(), ca.key.get(), EVP_sha256());
  return leaf;
}

std::string CertAndKey::cert_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert.get());
  return bio_text(bio);
}

std::string CertAndKey::key_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio);
}

std::string CertAndKey::write(const std::string& dir, const std::string& name) const {
  write_text(dir + "/" + name + ".crt", cert_pem());
  write_text(dir + "/" + name + ".key", key_pem());
  return dir + "/" + name + ".crt";
}

std::string make_temp_dir(const std::string& tag) {
  std::string templ = "/tmp/wbt-" + tag + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return templ;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace wb::test
