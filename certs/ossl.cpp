// Shared OpenSSL plumbing: error queue -> wb::Error, DER/PEM conversions, serial spelling.
#include "certs/ossl.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cctype>

namespace wb::certs {

Error ossl_error(std::string context) {
  std::string detail;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  if (!detail.empty()) context += " (" + detail + ")";
  return make_error(std::errc::protocol_error, std::move(context));
}

EvpPkeyPtr share_key(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

X509Ptr share_cert(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return X509Ptr(cert);
}

Result<Bytes> cert_to_der(X509* cert) {
  int len = i2d_X509(cert, nullptr);
  if (len <= 0) return ossl_error("encode certificate");
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_X509(cert, &p) != len) return ossl_error("encode certificate");
  return out;
}

Result<std::string> cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return ossl_error("write PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<X509Ptr> cert_from_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return ossl_error("parse DER certificate");
  return cert;
}

Result<X509Ptr> cert_from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error("read PEM certificate");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return ossl_error("no PEM certificate found");
  return cert;
}

namespace {
// Refuses to prompt for a passphrase: encrypted keys are an error, never a hang on a terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}
}  // namespace

// Measured (docs/benchmarks/certs.md): with a provider-native key, X509_set_pubkey() encodes the
// key with OSSL_ENCODER and decodes it again with OSSL_DECODER, ~3/4 of a cold forge. A key that
// also carries the legacy method table takes OpenSSL's direct pub_encode path instead. This
// copies a key into that form; it is the only use of the deprecated EC_KEY/RSA API. Keys of other
// types are refused.
Result<EvpPkeyPtr> legacy_form(EVP_PKEY* key) {
  EvpPkeyPtr out(EVP_PKEY_new());
  if (!out) return ossl_error("new key");
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  bool ok = false;
  if (EVP_PKEY_is_a(key, "EC")) {
    EC_KEY* ec = EVP_PKEY_get1_EC_KEY(key);
    ok = ec != nullptr && EVP_PKEY_assign_EC_KEY(out.get(), ec) == 1;
    if (!ok) EC_KEY_free(ec);
  } else if (EVP_PKEY_is_a(key, "RSA")) {
    RSA* rsa = EVP_PKEY_get1_RSA(key);
    ok = rsa != nullptr && EVP_PKEY_assign_RSA(out.get(), rsa) == 1;
    if (!ok) RSA_free(rsa);
  }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  if (!ok) return ossl_error("convert key for fast certificate building");
  return out;
}

Result<EvpPkeyPtr> key_from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return ossl_error("read PEM key");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
  // The error queue may quote parts of the input; drop it rather than risk echoing key text.
  if (!key) {
    ERR_clear_error();
    return make_error(std::errc::invalid_argument,
                      "no unencrypted PEM private key found (encrypted keys are not supported)");
  }
  // PEM gives a provider key. Signing certificates, CRLs and OCSP responses with one fails while
  // the agent's built-in key methods are installed (ASN1_item_sign asks the built-in method for
  // provider parameters: "command not supported"), so EC and RSA keys are kept in built-in form,
  // as generated and pool keys are; other types are left for the caller to refuse.
  if (EVP_PKEY_is_a(key.get(), "EC") || EVP_PKEY_is_a(key.get(), "RSA")) {
    return legacy_form(key.get());
  }
  return key;
}

Result<std::array<std::uint8_t, 32>> cert_sha256(X509* cert) {
  // On the warm (cache hit) path: an explicitly fetched digest skips OpenSSL 3's per-call
  // implicit fetch, and a certificate parsed from the wire re-encodes from its cached DER.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<std::uint8_t, 32> out{};
  unsigned char* der = nullptr;
  int len = sha256 != nullptr ? i2d_X509(cert, &der) : -1;
  bool ok = len > 0 && EVP_Digest(der, static_cast<std::size_t>(len), out.data(), nullptr, sha256,
                                  nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return ossl_error("certificate SHA-256");
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

namespace {
std::string strip_leading_zeros(std::string hex) {
  std::size_t i = 0;
  while (i + 1 < hex.size() && hex[i] == '0') ++i;
  return hex.substr(i);
}
}  // namespace

std::string serial_hex(const ASN1_INTEGER* serial) {
  const std::uint8_t* data = ASN1_STRING_get0_data(serial);
  int len = ASN1_STRING_length(serial);
  std::string hex = len > 0 ? to_hex({data, static_cast<std::size_t>(len)}) : "0";
  hex = strip_leading_zeros(std::move(hex));
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) hex.insert(0, "-");
  return hex;
}

Result<std::string> normalize_serial(std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(std::errc::invalid_argument,
                      std::string("serial \"") + std::string(text.substr(0, 64)) + "\": " + why);
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.starts_with("serial=")) s.remove_prefix(7);
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  std::string hex;
  for (char c : s) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return bad("not a hex number");
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (hex.empty()) return bad("empty");
  hex = strip_leading_zeros(std::move(hex));
  if (hex.size() > 40) return bad("longer than 160 bits");
  return hex;
}

Result<std::int64_t> asn1_time_to_epoch(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return ossl_error("decode ASN.1 time");
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace wb::certs
