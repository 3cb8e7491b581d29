// Issuer keyrings: a CA certificate and its private key that sign forged certificates, CRLs and
// OCSP responses. The trusted keyring is the one clients install; the untrusted one signs
// certificates for sites whose real certificate did not verify, so the client still sees an error.
//
// State directory layout (directory 0700, keys 0600 from creation, never logged):
//   <state>/issuer.crt  <state>/issuer.key            trusted
//   <state>/untrusted-issuer.crt  <state>/untrusted-issuer.key
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "agent/common/result.h"
#include "certs/ossl.h"

namespace wb::certs {

enum class IssuerRole : std::uint8_t { trusted, untrusted };
const char* issuer_role_name(IssuerRole role);

// What `wirebump ca show` prints.
struct KeyringInfo {
  IssuerRole role;
  std::string issuer_id;    // 16 hex digits, used in URLs
  std::string subject;      // one-line RFC 2253 form
  std::string sha256;       // "AB:CD:..." like `openssl x509 -fingerprint -sha256`
  std::int64_t not_before;  // seconds since the epoch
  std::int64_t not_after;
  std::string key_type;   // "EC P-256" / "RSA-2048" ...
  std::string cert_path;  // file in the state dir ("" for ephemeral keyrings)
  std::string der_url;    // http://<crl-host>/wirebump/ca/<id>.crt
  std::string pem_url;    // http://<crl-host>/wirebump/ca/<id>.pem
};

class Keyring {
 public:
  // Loads <state>/<role files>, or generates a new EC P-256 CA (10 years) there on first run.
  // Creates the state directory 0700 if missing and refuses one group/other can write to.
  static Result<Keyring> load_or_create(const std::filesystem::path& state_dir, IssuerRole role);
  // Loads only (for `wirebump ca show`): an error if the files are missing.
  static Result<Keyring> load(const std::filesystem::path& state_dir, IssuerRole role);
  // A fresh CA kept in memory only (tests, fuzzers).
  static Result<Keyring> generate(IssuerRole role);
  // Validates a PEM certificate + unencrypted PEM key (key matches, basicConstraints CA:TRUE,
  // keyCertSign usage if a keyUsage is present, currently valid) and builds a keyring from them.
  static Result<Keyring> from_pem(std::string_view cert_pem, std::string_view key_pem,
                                  IssuerRole role);
  // `wirebump ca import --cert F --key F`: from_pem on the files' contents, then writes them
  // into the state dir (key file created 0600, written to a temporary name and renamed).
  static Result<Keyring> import_files(const std::filesystem::path& state_dir,
                                      const std::filesystem::path& cert_file,
                                      const std::filesystem::path& key_file,
                                      IssuerRole role = IssuerRole::trusted);

  IssuerRole role() const { return role_; }
  X509* cert() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  const std::string& id() const { return id_; }
  const Bytes& cert_der() const { return der_; }
  const std::string& cert_pem() const { return pem_; }
  std::int64_t not_before() const { return not_before_; }
  std::int64_t not_after() const { return not_after_; }
  // canonical_crl_host: validated crl_host (for the URLs).
  KeyringInfo info(std::string_view canonical_crl_host) const;

 private:
  static Result<Keyring> build(X509Ptr cert, EvpPkeyPtr key, IssuerRole role,
                               std::filesystem::path cert_path);

  IssuerRole role_ = IssuerRole::trusted;
  X509Ptr cert_;
  EvpPkeyPtr key_;
  std::string id_;
  Bytes der_;
  std::string pem_;
  std::int64_t not_before_ = 0, not_after_ = 0;
  std::filesystem::path cert_path_;
};

// The issuer id: the first 8 bytes of SHA-256 over the CA's SubjectPublicKeyInfo, in lower-case
// hex. Stable across restarts and re-issued CA certificates with the same key.
Result<std::string> issuer_id_of(X509* ca_cert);

}  // namespace wb::certs
