// One forged certificate from the real server's leaf. Values copied from the leaf are always
// copied as ASN.1 structures, never pasted into OpenSSL config strings (a CN with a comma must
// not become a second extension value).
#include "certs/forge.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "certs/key_pool.h"

namespace wb::certs {
namespace {

constexpr std::int64_t kBackdateSeconds = 24 * 3600;  // client clock skew

Result<X509ExtensionPtr> conf_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return ossl_error(std::string("build extension ") + OBJ_nid2sn(nid));
  return ext;
}

Status add_conf_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  WB_TRY_ASSIGN(X509ExtensionPtr ext, conf_ext(cert, issuer, nid, value));
  if (X509_add_ext(cert, ext.get(), -1) != 1) {
    return ossl_error(std::string("add extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

bool ext_critical(X509* leaf, int nid) {
  int idx = X509_get_ext_by_NID(leaf, nid, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(leaf, idx)) == 1;
}

// The leaf's CN entry (as an ASN.1 string), if any.
const X509_NAME_ENTRY* leaf_cn(X509* leaf) {
  X509_NAME* name = X509_get_subject_name(leaf);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  return idx >= 0 ? X509_NAME_get_entry(name, idx) : nullptr;
}

bool hostname_like(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '*' ||
           c == '_';
  });
}

// DNS and IP names of the leaf; a leaf without any gets its CN (as DNS or IP name).
Result<GeneralNamesPtr> forged_sans(X509* leaf, const X509_NAME_ENTRY* cn) {
  GeneralNamesPtr out(sk_GENERAL_NAME_new_null());
  if (!out) return ossl_error("new subjectAltName");
  GeneralNamesPtr leaf_names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; leaf_names && i < sk_GENERAL_NAME_num(leaf_names.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(leaf_names.get(), i);
    if (gn->type != GEN_DNS && gn->type != GEN_IPADD) continue;
    GENERAL_NAME* copy = GENERAL_NAME_dup(gn);
    if (copy == nullptr || sk_GENERAL_NAME_push(out.get(), copy) <= 0) {
      GENERAL_NAME_free(copy);
      return ossl_error("copy subjectAltName");
    }
  }
  if (sk_GENERAL_NAME_num(out.get()) == 0 && cn != nullptr) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(cn);
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) return ossl_error("new subjectAltName entry");
    if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(text.c_str())) {
      GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    } else if (hostname_like(text)) {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, text.data(), static_cast<int>(text.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gn);
        return ossl_error("subjectAltName from CN");
      }
      GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    } else {
      GENERAL_NAME_free(gn);
      gn = nullptr;
    }
    if (gn != nullptr && sk_GENERAL_NAME_push(out.get(), gn) <= 0) {
      GENERAL_NAME_free(gn);
      return ossl_error("subjectAltName from CN");
    }
  }
  return out;
}

// keyUsage mirrored from the leaf, minus what a forged leaf must not claim (CA bits) or cannot do
// with its key type; digitalSignature is always kept since every TLS version signs with it.
std::string forged_key_usage(X509* leaf, KeyType type) {
  std::uint32_t usage = X509_get_key_usage(leaf);
  std::string value = ext_critical(leaf, NID_key_usage) ? "critical," : "";
  value += "digitalSignature";
  if (usage & KU_NON_REPUDIATION) value += ",nonRepudiation";
  if (type == KeyType::rsa2048 && (usage & KU_KEY_ENCIPHERMENT)) value += ",keyEncipherment";
  if (type == KeyType::rsa2048 && (usage & KU_DATA_ENCIPHERMENT)) value += ",dataEncipherment";
  if (type == KeyType::ec_p256 && (usage & KU_KEY_AGREEMENT)) value += ",keyAgreement";
  return value;
}

struct Validity {
  std::int64_t not_before, not_after;
};
Validity clip_validity(std::int64_t leaf_nb, std::int64_t leaf_na, const ForgeParams& p) {
  std::int64_t max = p.max_validity.count();
  std::int64_t nb = std::max({leaf_nb, p.now - kBackdateSeconds, p.issuer->not_before()});
  std::int64_t na = 0;
  if (leaf_na < nb) {  // expired leaf: the forged one is expired too
    na = leaf_na;
    nb = std::max({leaf_nb, leaf_na - max, p.issuer->not_before()});
  } else {
    na = std::min({leaf_na, nb + max, p.issuer->not_after()});
  }
  return {std::min(nb, na), na};
}

}  // namespace

std::string random_serial() {
  unsigned char b[16] = {};
  if (RAND_bytes(b, sizeof(b)) != 1) return "";
  // All-zero has probability 2^-128; a serial must still never be zero.
  if (std::all_of(std::begin(b), std::end(b), [](unsigned char c) { return c == 0; })) b[15] = 1;
  std::string hex = to_hex(b);
  std::size_t i = 0;
  while (i + 1 < hex.size() && hex[i] == '0') ++i;
  return hex.substr(i);
}

Result<X509Ptr> forge_certificate(const ForgeParams& p) {
  if (p.leaf == nullptr || p.key == nullptr || p.issuer == nullptr || p.urls == nullptr) {
    return make_error(std::errc::invalid_argument, "forge: missing leaf, key, issuer or URLs");
  }
  auto type = key_type_of(p.key);
  if (!type) return make_error(std::errc::invalid_argument, "forge: unsupported key type");
  X509Ptr cert(X509_new());
  if (!cert) return ossl_error("new certificate");
  X509* c = cert.get();
  X509* issuer = p.issuer->cert();
  X509_set_version(c, X509_VERSION_3);

  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, p.serial.c_str()) == 0) return ossl_error("forge: serial");
  BignumPtr bn(raw);
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(c))) return ossl_error("forge: serial");

  const X509_NAME_ENTRY* cn = leaf_cn(p.leaf);
  X509_NAME* subject = X509_get_subject_name(c);
  if (cn != nullptr && X509_NAME_add_entry(subject, cn, -1, 0) != 1) {
    return ossl_error("forge: subject CN");
  }
  if (X509_set_issuer_name(c, X509_get_subject_name(issuer)) != 1) {
    return ossl_error("forge: issuer name");
  }

  WB_TRY_ASSIGN(std::int64_t leaf_nb, asn1_time_to_epoch(X509_get0_notBefore(p.leaf)));
  WB_TRY_ASSIGN(std::int64_t leaf_na, asn1_time_to_epoch(X509_get0_notAfter(p.leaf)));
  Validity v = clip_validity(leaf_nb, leaf_na, p);
  if (!ASN1_TIME_set(X509_getm_notBefore(c), static_cast<time_t>(v.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(v.not_after)) ||
      X509_set_pubkey(c, p.key) != 1) {
    return ossl_error("forge: validity/key");
  }

  WB_TRY(add_conf_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  WB_TRY(add_conf_ext(c, issuer, NID_key_usage, forged_key_usage(p.leaf, *type)));
  if (int idx = X509_get_ext_by_NID(p.leaf, NID_ext_key_usage, -1); idx >= 0) {
    if (X509_add_ext(c, X509_get_ext(p.leaf, idx), -1) != 1) return ossl_error("forge: EKU");
  }
  WB_TRY_ASSIGN(GeneralNamesPtr sans, forged_sans(p.leaf, cn));
  if (sk_GENERAL_NAME_num(sans.get()) > 0) {
    // RFC 5280 4.2.1.6: critical when the subject is empty.
    int critical = cn == nullptr || ext_critical(p.leaf, NID_subject_alt_name) ? 1 : 0;
    if (X509_add1_ext_i2d(c, NID_subject_alt_name, sans.get(), critical, X509V3_ADD_DEFAULT) != 1) {
      return ossl_error("forge: subjectAltName");
    }
  }
  WB_TRY(add_conf_ext(c, issuer, NID_subject_key_identifier, "hash"));
  WB_TRY(add_conf_ext(c, issuer, NID_authority_key_identifier, "keyid:always"));
  WB_TRY(add_conf_ext(c, issuer, NID_crl_distribution_points, "URI:" + p.urls->crl));
  WB_TRY(add_conf_ext(c, issuer, NID_info_access,
                      "OCSP;URI:" + p.urls->ocsp + ",caIssuers;URI:" + p.urls->ca_issuers));

  if (X509_sign(c, p.issuer->key(), EVP_sha256()) <= 0) return ossl_error("forge: sign");
  return cert;
}

}  // namespace wb::certs
