// Issuer keyrings: generated on first run, loaded, or imported after validation.
#include "certs/keyring.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "certs/crl_host.h"
#include "certs/key_pool.h"
#include "certs/state_files.h"

namespace wb::certs {
namespace {

constexpr std::int64_t kCaLifetimeDays = 3650;
// Backdated further than forged certificates (1 day) so their clock-skew margin is not clipped.

struct RoleFiles {
  const char* cert;
  const char* key;
};
RoleFiles files_of(IssuerRole role) {
  return role == IssuerRole::trusted ? RoleFiles{"issuer.crt", "issuer.key"}
                                     : RoleFiles{"untrusted-issuer.crt", "untrusted-issuer.key"};
}

Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl_error(std::string("add extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

Result<std::string> key_pem_text(EVP_PKEY* key) {
  // Secure-heap BIO: the PEM text of the key is wiped when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ossl_error("encode issuer key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Writes the key (0600) then the certificate (0644): a crash in between leaves a key without a
// certificate, which load() reports instead of silently making a new CA.
Status write_keyring(const std::filesystem::path& dir, IssuerRole role, X509* cert, EVP_PKEY* key) {
  auto files = files_of(role);
  WB_TRY_ASSIGN(std::string key_pem, key_pem_text(key));
  Status written = write_file_atomic(dir / files.key, key_pem, 0600);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  WB_TRY(written);
  WB_TRY_ASSIGN(std::string cert_pem, cert_to_pem(cert));
  return write_file_atomic(dir / files.cert, cert_pem, 0644);
}

Result<X509Ptr> self_signed_ca(EVP_PKEY* key, IssuerRole role, const std::string& id) {
  X509Ptr cert(X509_new());
  if (!cert) return ossl_error("new CA certificate");
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return ossl_error("CA serial");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);
  BignumPtr bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return ossl_error("CA serial");
  }
  // The id in the name keeps CAs of different bridges apart in client trust stores.
  // CN is limited to 64 characters; the reason goes in OU.
  std::string cn = std::string(role == IssuerRole::trusted ? "wirebump issuer CA "
                                                           : "wirebump UNTRUSTED issuer ") +
                   id.substr(0, 8);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("wirebump"), -1, -1, 0);
  if (role == IssuerRole::untrusted) {
    X509_NAME_add_entry_by_txt(
        name, "OU", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>("upstream certificate did not verify"), -1, -1, 0);
  }
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return ossl_error("CA name");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -2 * 86400) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), kCaLifetimeDays, 0, nullptr) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return ossl_error("CA validity/key");
  }
  WB_TRY(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  WB_TRY(add_ext(cert.get(), cert.get(), NID_key_usage,
                 "critical,keyCertSign,cRLSign,digitalSignature"));
  WB_TRY(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  WB_TRY(add_ext(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return ossl_error("sign CA certificate");
  return cert;
}

Result<std::string> spki_id(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return ossl_error("encode issuer public key");
  unsigned char md[32];
  bool ok = EVP_Digest(der, static_cast<std::size_t>(len), md, nullptr, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return ossl_error("hash issuer public key");
  std::string hex = to_hex({md, 8});
  for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hex;
}

std::string key_description(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len) == 1) {
      std::string c(curve, len);
      return "EC " + std::string(c == "prime256v1" ? "P-256" : c);
    }
    return "EC";
  }
  if (EVP_PKEY_is_a(key, "RSA")) return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
  return EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
}

}  // namespace

const char* issuer_role_name(IssuerRole role) {
  return role == IssuerRole::trusted ? "trusted" : "untrusted";
}

Result<std::string> issuer_id_of(X509* ca_cert) {
  EVP_PKEY* key = X509_get0_pubkey(ca_cert);
  if (key == nullptr) return ossl_error("issuer certificate has no usable public key");
  return spki_id(key);
}

Result<Keyring> Keyring::build(X509Ptr cert, EvpPkeyPtr key, IssuerRole role,
                               std::filesystem::path cert_path) {
  Keyring k;
  k.role_ = role;
  WB_TRY_ASSIGN(k.id_, issuer_id_of(cert.get()));
  WB_TRY_ASSIGN(k.der_, cert_to_der(cert.get()));
  WB_TRY_ASSIGN(k.pem_, cert_to_pem(cert.get()));
  WB_TRY_ASSIGN(k.not_before_, asn1_time_to_epoch(X509_get0_notBefore(cert.get())));
  WB_TRY_ASSIGN(k.not_after_, asn1_time_to_epoch(X509_get0_notAfter(cert.get())));
  k.cert_ = std::move(cert);
  k.key_ = std::move(key);
  k.cert_path_ = std::move(cert_path);
  return k;
}

Result<Keyring> Keyring::generate(IssuerRole role) {
  WB_TRY_ASSIGN(EvpPkeyPtr key, generate_key(KeyType::ec_p256));
  WB_TRY_ASSIGN(std::string id, spki_id(key.get()));
  WB_TRY_ASSIGN(X509Ptr cert, self_signed_ca(key.get(), role, id));
  return build(std::move(cert), std::move(key), role, {});
}

Result<Keyring> Keyring::from_pem(std::string_view cert_pem, std::string_view key_pem,
                                  IssuerRole role) {
  auto cert = cert_from_pem(cert_pem);
  if (!cert.ok()) return cert.error().wrap("issuer certificate");
  auto key = key_from_pem(key_pem);
  if (!key.ok()) return key.error().wrap("issuer key");
  if (!key_type_of(key->get())) {
    return make_error(std::errc::invalid_argument,
                      "issuer key: only EC and RSA keys are supported");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return make_error(std::errc::invalid_argument,
                      "issuer key does not match the issuer certificate's public key");
  }
  std::uint32_t flags = X509_get_extension_flags(cert->get());
  if ((flags & EXFLAG_CA) == 0) {
    return make_error(std::errc::invalid_argument,
                      "issuer certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  std::uint32_t usage = X509_get_key_usage(cert->get());
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      ((usage & KU_KEY_CERT_SIGN) == 0 || (usage & KU_CRL_SIGN) == 0)) {
    return make_error(std::errc::invalid_argument,
                      "issuer certificate's keyUsage lacks keyCertSign or cRLSign");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert->get())) <= 0) {
    return make_error(std::errc::invalid_argument, "issuer certificate has expired");
  }
  return build(std::move(cert).value(), std::move(key).value(), role, {});
}

Result<Keyring> Keyring::load(const std::filesystem::path& dir, IssuerRole role) {
  auto files = files_of(role);
  auto cert_pem = read_small_file(dir / files.cert);
  if (!cert_pem.ok()) return cert_pem.error().wrap(std::string(issuer_role_name(role)) + " issuer");
  auto key_pem = read_secret_file(dir / files.key);
  if (!key_pem.ok()) return key_pem.error().wrap(std::string(issuer_role_name(role)) + " issuer");
  auto k = from_pem(*cert_pem, *key_pem, role);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!k.ok()) return k.error().wrap("load " + (dir / files.cert).string());
  k->cert_path_ = dir / files.cert;
  return k;
}

Result<Keyring> Keyring::load_or_create(const std::filesystem::path& dir, IssuerRole role) {
  WB_TRY(ensure_private_dir(dir));
  auto files = files_of(role);
  std::error_code ec;
  bool have_cert = std::filesystem::exists(dir / files.cert, ec);
  bool have_key = std::filesystem::exists(dir / files.key, ec);
  if (have_cert || have_key) return load(dir, role);
  WB_TRY_ASSIGN(Keyring k, generate(role));
  WB_TRY(write_keyring(dir, role, k.cert(), k.key()));
  k.cert_path_ = dir / files.cert;
  return k;
}

Result<Keyring> Keyring::import_files(const std::filesystem::path& dir,
                                      const std::filesystem::path& cert_file,
                                      const std::filesystem::path& key_file, IssuerRole role) {
  WB_TRY_ASSIGN(std::string cert_pem, read_small_file(cert_file));
  WB_TRY_ASSIGN(std::string key_pem, read_small_file(key_file));
  auto k = from_pem(cert_pem, key_pem, role);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!k.ok()) return k.error();
  WB_TRY(ensure_private_dir(dir));
  WB_TRY(write_keyring(dir, role, k->cert(), k->key()));
  k->cert_path_ = dir / files_of(role).cert;
  return k;
}

KeyringInfo Keyring::info(std::string_view host) const {
  KeyringInfo info{};
  info.role = role_;
  info.issuer_id = id_;
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  info.subject.assign(data, static_cast<std::size_t>(len));
  if (auto sha = cert_sha256(cert_.get()); sha.ok()) {
    std::string hex = to_hex(*sha);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      if (i) info.sha256 += ':';
      info.sha256 += hex.substr(i, 2);
    }
  }
  info.not_before = not_before_;
  info.not_after = not_after_;
  info.key_type = key_description(key_.get());
  info.cert_path = cert_path_.string();
  RevocationUrls urls = revocation_urls(host, id_);
  info.der_url = urls.ca_issuers;
  info.pem_url = urls.ca_pem;
  return info;
}

}  // namespace wb::certs
