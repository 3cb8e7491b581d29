// RAII owners for every OpenSSL object the certificates library touches, plus the few conversions
// (DER/PEM, hex serials, error queue -> wb::Error) everything else shares.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"

namespace wb::certs {

template <auto Free>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using X509Ptr = std::unique_ptr<X509, OsslDeleter<&X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslDeleter<&X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OsslDeleter<&X509_REVOKED_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<&X509_EXTENSION_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<&X509_NAME_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<&EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<&BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<&BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<&ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<&ASN1_TIME_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<&ASN1_OCTET_STRING_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<&GENERAL_NAMES_free>>;
using ExtKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, OsslDeleter<&EXTENDED_KEY_USAGE_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, OsslDeleter<&OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, OsslDeleter<&OCSP_RESPONSE_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, OsslDeleter<&OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, OsslDeleter<&OCSP_CERTID_free>>;

using Bytes = std::vector<std::uint8_t>;

// An error carrying what was being done plus the drained OpenSSL error queue (never key bytes:
// OpenSSL error strings name functions and reasons only).
Error ossl_error(std::string context);

// New reference to a shared key (EVP_PKEY_up_ref); keys are immutable once generated.
EvpPkeyPtr share_key(EVP_PKEY* key);
X509Ptr share_cert(X509* cert);

Result<Bytes> cert_to_der(X509* cert);
Result<std::string> cert_to_pem(X509* cert);
Result<X509Ptr> cert_from_der(std::span<const std::uint8_t> der);
// First certificate of a PEM text.
Result<X509Ptr> cert_from_pem(std::string_view pem);
// Unencrypted PEM private key (PKCS#8 or traditional); encrypted keys are refused. EC and RSA
// keys come in the built-in form legacy_form() makes.
Result<EvpPkeyPtr> key_from_pem(std::string_view pem);
// The same EC or RSA key in the form X509_set_pubkey() handles without an encode/decode round
// trip, and that signs whether or not agent/intercept/builtin_key_methods.h is installed.
Result<EvpPkeyPtr> legacy_form(EVP_PKEY* key);

// SHA-256 of the DER certificate.
Result<std::array<std::uint8_t, 32>> cert_sha256(X509* cert);

// Upper-case hex, no separators ("3A0F").
std::string to_hex(std::span<const std::uint8_t> bytes);
// Serial as `openssl x509 -serial` prints it, canonical form: upper-case hex without leading
// zeros ("0" for zero). Negative serials get a leading '-'.
std::string serial_hex(const ASN1_INTEGER* serial);
// Canonical form of an operator-typed serial: accepts "serial=", "0x", lower case, ':' separators
// and leading zeros; rejects anything else (empty, non-hex, longer than 40 hex digits = 160 bits).
Result<std::string> normalize_serial(std::string_view text);

// Seconds since the epoch of an ASN1_TIME (UTCTime or GeneralizedTime).
Result<std::int64_t> asn1_time_to_epoch(const ASN1_TIME* t);

}  // namespace wb::certs
