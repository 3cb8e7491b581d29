// Process-wide OpenSSL 3.0 setting: RSA and EC public keys read from certificates go through
// OpenSSL's own built-in ("legacy") key methods instead of its provider decoders.
//
// Why: OpenSSL 3.0 decodes every certificate's SubjectPublicKeyInfo with OSSL_DECODER and builds
// the decoder chain anew each time, walking every decoder and key manager of every loaded
// provider under read locks (openssl/openssl#17950 and #19119; 3.2 caches the chains, Debian 12
// ships 3.0). Measured here: ~120 us per d2i_X509 of a P-256 or RSA-2048 certificate, against
// ~30 us (P-256) and ~9 us (RSA) through the built-in methods. The agent parses one certificate
// per full upstream handshake (the server's), ~9 % of its CPU per new intercepted connection
// (docs/benchmarks/compare.md).
//
// How: OpenSSL 3.0 takes the built-in decoding path for a key type when an ENGINE is the default
// for it (x509_pubkey_decode in crypto/x509/x_pubkey.c). The engine installed here carries
// OpenSSL's own built-in EVP_PKEY_METHODs for RSA and EC, unchanged: no wirebump code runs in
// any key operation. The side effect is the same switch for every EVP_PKEY_CTX made for an RSA
// or EC key, provider keys included (OpenSSL 3.0 looks the engine up by key type): signatures,
// their verification, key generation and ECDH on the NIST curves run OpenSSL's built-in
// implementations (the ones OpenSSL 1.1 used). A provider key cannot sign a certificate or CRL
// that way, so every key wirebump signs with is in built-in form (certs::legacy_form, which
// certs::key_from_pem and the forging pool apply). X25519, Ed25519 and everything symmetric are
// untouched.
//
// Never in FIPS mode: the built-in methods are outside the FIPS provider, so install() refuses
// when FIPS properties are the default.
#pragma once

#include <openssl/types.h>

#include <memory>

#include "agent/common/result.h"

namespace wb::intercept {

class BuiltinKeyMethods {
 public:
  // Registers the engine as the default for RSA and EC key methods. One at a time per process
  // (an error while another is installed, or in FIPS mode).
  static Result<std::unique_ptr<BuiltinKeyMethods>> install();
  // Unregisters it: keys and contexts made before keep working (contexts hold their own
  // reference to the engine, whose methods are OpenSSL's static ones); new ones use providers.
  ~BuiltinKeyMethods();
  BuiltinKeyMethods(const BuiltinKeyMethods&) = delete;
  BuiltinKeyMethods& operator=(const BuiltinKeyMethods&) = delete;

  // Whether certificates parsed now get built-in RSA and EC keys.
  static bool active();

 private:
  explicit BuiltinKeyMethods(ENGINE* engine) : engine_(engine) {}
  ENGINE* engine_;  // one structural reference, registered as the RSA and EC default
};

}  // namespace wb::intercept
