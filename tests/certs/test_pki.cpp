#include "tests/certs/test_pki.h"
#include "tests/support/build_paths.h"

#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "certs/key_pool.h"

namespace wb::certs::test {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext && X509_add_ext(cert, ext.get(), -1) == 1, "extension");
}

X509Ptr new_cert(const std::string& cn, EVP_PKEY* key, std::int64_t nb, std::int64_t na) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  static std::atomic<long> serial{1000};
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  std::int64_t now = std::time(nullptr);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now + nb));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + na));
  X509_set_pubkey(cert.get(), key);
  return cert;
}

}  // namespace

UpstreamPki::UpstreamPki() {
  ca_key_ = std::move(generate_key(KeyType::ec_p256)).value();
  leaf_ec_ = std::move(generate_key(KeyType::ec_p256)).value();
  leaf_rsa_ = std::move(generate_key(KeyType::rsa2048)).value();
  ca_ = new_cert("Upstream Test Root", ca_key_.get(), -86400, 3650L * 86400);
  X509_set_issuer_name(ca_.get(), X509_get_subject_name(ca_.get()));
  add_ext(ca_.get(), ca_.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca_.get(), ca_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca_.get(), ca_.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(ca_.get(), ca_key_.get(), EVP_sha256()) > 0, "sign CA");
}

X509Ptr UpstreamPki::leaf(const LeafSpec& spec) const {
  EVP_PKEY* key = spec.rsa ? leaf_rsa_.get() : leaf_ec_.get();
  X509Ptr cert = new_cert(spec.cn, key, spec.not_before_offset, spec.not_after_offset);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_.get()));
  std::string san;
  for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : spec.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!san.empty()) add_ext(cert.get(), ca_.get(), NID_subject_alt_name, san);
  if (!spec.key_usage.empty()) add_ext(cert.get(), ca_.get(), NID_key_usage, spec.key_usage);
  if (!spec.ext_key_usage.empty()) {
    add_ext(cert.get(), ca_.get(), NID_ext_key_usage, spec.ext_key_usage);
  }
  add_ext(cert.get(), ca_.get(), NID_basic_constraints, "critical,CA:FALSE");
  check(X509_sign(cert.get(), ca_key_.get(), EVP_sha256()) > 0, "sign leaf");
  return cert;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::path(WB_BINARY_DIR) / "certs-test-tmp" /
          (std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

void write_bytes(const std::filesystem::path& p, const Bytes& bytes) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::string pem_of(X509* cert) {
  return std::move(cert_to_pem(cert)).value();
}

std::string key_pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

wb::test::CommandResult openssl(const std::string& args) {
  auto r = wb::test::run("openssl " + args + " 2>&1", std::chrono::seconds(30));
  return r;
}

}  // namespace wb::certs::test
