// BuiltinKeyMethods: certificates parsed while it is installed carry built-in (non-provider) RSA
// and EC keys, and everything TLS does with such keys still works and still rejects what it
// must: full TLS 1.3 and 1.2 handshakes in memory between plain OpenSSL peers, for RSA and EC
// server certificates over X25519 and the NIST curves; chains from the wrong CA and certificates
// with a broken signature refused; key generation and signatures through the built-in methods.
#include "agent/intercept/builtin_key_methods.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "agent/intercept/ossl_types.h"
#include "certs/crl.h"
#include "certs/keyring.h"
#include "certs/ossl.h"
#include "tests/intercept/test_pki.h"

namespace wb::intercept {
namespace {

using test::CertAndKey;
using test::KeyKind;
using Bytes = std::vector<std::uint8_t>;
using certs::EvpMdCtxPtr;
using certs::X509Ptr;

struct Pki {
  CertAndKey ca;
  CertAndKey leaf;
};

// Made once per key kind, before any test installs the methods (provider keys, as OpenSSL makes
// them by default).
const Pki& pki(KeyKind kind) {
  static const Pki ec = [] {
    Pki p{test::make_ca("ec ca"), {}};
    p.leaf = test::make_leaf(p.ca, "ec.test", {"ec.test"});
    return p;
  }();
  static const Pki rsa = [] {
    Pki p{test::make_ca("rsa ca", KeyKind::kRsa2048), {}};
    p.leaf = test::make_leaf(p.ca, "rsa.test", {"rsa.test"}, {}, KeyKind::kRsa2048);
    return p;
  }();
  return kind == KeyKind::kEcP256 ? ec : rsa;
}

// The same, made while the built-in methods are installed: every key in built-in form (OpenSSL
// cannot sign certificates with a provider key then; IssuerFromPemStillSignsCrls).
const Pki& installed_pki(KeyKind kind) {
  EXPECT_TRUE(BuiltinKeyMethods::active());
  auto make = [](KeyKind k) {
    const std::string host = k == KeyKind::kEcP256 ? "ec.test" : "rsa.test";
    Pki p{test::make_ca(host + " ca", k), {}};
    p.leaf = test::make_leaf(p.ca, host, {host}, {}, k);
    return p;
  };
  static const Pki ec = make(KeyKind::kEcP256);
  static const Pki rsa = make(KeyKind::kRsa2048);
  return kind == KeyKind::kEcP256 ? ec : rsa;
}

Bytes der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  Bytes out(der, der + (n > 0 ? n : 0));
  OPENSSL_free(der);
  return out;
}

// Parses `der` as OpenSSL's TLS client parses a server's certificate.
X509Ptr parse(const Bytes& der) {
  const unsigned char* p = der.data();
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

bool has_builtin_key(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  return key != nullptr && EVP_PKEY_get0_provider(key) == nullptr;
}

int verify_error(X509* leaf, X509* trusted) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), trusted);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

TEST(BuiltinKeyMethods, CertificatesParsedWhileInstalledCarryBuiltinKeys) {
  for (KeyKind kind : {KeyKind::kEcP256, KeyKind::kRsa2048}) {
    const Bytes der = der_of(pki(kind).leaf.cert.get());
    EXPECT_FALSE(BuiltinKeyMethods::active());
    EXPECT_FALSE(has_builtin_key(parse(der).get())) << "OpenSSL's default: a provider key";
    {
      auto methods = BuiltinKeyMethods::install();
      ASSERT_TRUE(methods.ok()) << methods.error().message();
      EXPECT_TRUE(BuiltinKeyMethods::active());
      X509Ptr cert = parse(der);
      ASSERT_TRUE(cert);
      EXPECT_TRUE(has_builtin_key(cert.get()));
      EXPECT_EQ(der_of(cert.get()), der) << "the certificate itself is unchanged";
    }
    EXPECT_FALSE(BuiltinKeyMethods::active()) << "uninstalled with its owner";
    EXPECT_FALSE(has_builtin_key(parse(der).get()));
  }
}

TEST(BuiltinKeyMethods, OneAtATime) {
  auto first = BuiltinKeyMethods::install();
  ASSERT_TRUE(first.ok());
  auto second = BuiltinKeyMethods::install();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("already installed"), std::string::npos);
  first->reset();  // uninstalls
  EXPECT_TRUE(BuiltinKeyMethods::install().ok()) << "free again once the first is gone";
}

// A key and a certificate parsed while installed outlive the uninstall and keep working.
TEST(BuiltinKeyMethods, KeysOutliveTheInstall) {
  X509Ptr cert;
  {
    auto methods = BuiltinKeyMethods::install();
    ASSERT_TRUE(methods.ok());
    cert = parse(der_of(pki(KeyKind::kEcP256).leaf.cert.get()));
  }
  ASSERT_TRUE(has_builtin_key(cert.get()));
  EXPECT_EQ(verify_error(cert.get(), pki(KeyKind::kEcP256).ca.cert.get()), X509_V_OK);
}

// What keeps an invalid upstream certificate from being trusted still holds with built-in keys:
// chain verification refuses a wrong issuer and a broken signature.
TEST(BuiltinKeyMethods, VerificationStillRefusesWrongIssuerAndBrokenSignature) {
  auto methods = BuiltinKeyMethods::install();
  ASSERT_TRUE(methods.ok());
  for (KeyKind kind : {KeyKind::kEcP256, KeyKind::kRsa2048}) {
    const Pki& own = pki(kind);
    const Pki& other = pki(kind == KeyKind::kEcP256 ? KeyKind::kRsa2048 : KeyKind::kEcP256);
    X509Ptr ca = parse(der_of(own.ca.cert.get()));
    X509Ptr leaf = parse(der_of(own.leaf.cert.get()));
    ASSERT_TRUE(has_builtin_key(ca.get()));
    EXPECT_EQ(verify_error(leaf.get(), ca.get()), X509_V_OK);
    X509Ptr wrong_ca = parse(der_of(other.ca.cert.get()));
    EXPECT_EQ(verify_error(leaf.get(), wrong_ca.get()),
              X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    Bytes broken = der_of(own.leaf.cert.get());
    broken[broken.size() - 3] ^= 0x01;  // inside the signature value
    X509Ptr forged = parse(broken);
    ASSERT_TRUE(forged);
    EXPECT_EQ(verify_error(forged.get(), ca.get()), X509_V_ERR_CERT_SIGNATURE_FAILURE);
  }
}

// An operator's CA comes from PEM, which gives a provider key; OpenSSL cannot sign a certificate
// or CRL with one while the built-in methods are installed, so certs::key_from_pem hands it over
// in built-in form. The CRL the keyring signs verifies against the CA certificate.
TEST(BuiltinKeyMethods, IssuerFromPemStillSignsCrls) {
  auto methods = BuiltinKeyMethods::install();
  ASSERT_TRUE(methods.ok());
  for (KeyKind kind : {KeyKind::kEcP256, KeyKind::kRsa2048}) {
    const Pki& p = pki(kind);
    auto issuer =
        certs::Keyring::from_pem(p.ca.cert_pem(), p.ca.key_pem(), certs::IssuerRole::trusted);
    ASSERT_TRUE(issuer.ok()) << issuer.error().message();
    auto crl = certs::build_crl(*issuer, {}, 1, std::time(nullptr), std::chrono::hours(24));
    ASSERT_TRUE(crl.ok()) << crl.error().message();
    const unsigned char* der = crl->data();
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> parsed(
        d2i_X509_CRL(nullptr, &der, static_cast<long>(crl->size())), &X509_CRL_free);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(X509_CRL_verify(parsed.get(), X509_get0_pubkey(p.ca.cert.get())), 1);
  }
}

TEST(BuiltinKeyMethods, GeneratedKeysSignAndVerify) {
  auto methods = BuiltinKeyMethods::install();
  ASSERT_TRUE(methods.ok());
  for (KeyKind kind : {KeyKind::kEcP256, KeyKind::kRsa2048}) {
    const CertAndKey made = test::make_ca("generated while installed", kind);
    X509Ptr cert = parse(der_of(made.cert.get()));
    ASSERT_TRUE(has_builtin_key(cert.get()));
    const Bytes msg = {'s', 'i', 'g', 'n', ' ', 'm', 'e'};
    EvpMdCtxPtr sign(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    ASSERT_EQ(EVP_DigestSignInit_ex(sign.get(), &pctx, "SHA256", nullptr, nullptr, made.key.get(),
                                    nullptr),
              1);
    if (kind == KeyKind::kRsa2048) EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    std::size_t len = 0;
    ASSERT_EQ(EVP_DigestSign(sign.get(), nullptr, &len, msg.data(), msg.size()), 1);
    Bytes sig(len);
    ASSERT_EQ(EVP_DigestSign(sign.get(), sig.data(), &len, msg.data(), msg.size()), 1);
    sig.resize(len);

    for (bool tamper : {false, true}) {
      Bytes m = msg;
      if (tamper) m[0] ^= 0x20;
      EvpMdCtxPtr check(EVP_MD_CTX_new());
      EVP_PKEY_CTX* vctx = nullptr;
      ASSERT_EQ(EVP_DigestVerifyInit_ex(check.get(), &vctx, "SHA256", nullptr, nullptr,
                                        X509_get0_pubkey(cert.get()), nullptr),
                1);
      if (kind == KeyKind::kRsa2048) EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PSS_PADDING);
      EXPECT_EQ(EVP_DigestVerify(check.get(), sig.data(), sig.size(), m.data(), m.size()),
                tamper ? 0 : 1);
    }
  }
}

// Full handshakes between plain OpenSSL peers in memory: the client verifies the server's chain
// and the CertificateVerify (or, in TLS 1.2, the ServerKeyExchange) signature with a built-in
// key, over each key exchange group. The server's key is generated while installed, so it signs
// through the built-in methods too (as the agent's forged certificates' pool keys do).
using HandshakeCase = std::tuple<KeyKind, int /*version*/, std::string /*group*/>;
class BuiltinKeyHandshake : public ::testing::TestWithParam<HandshakeCase> {};

struct SslPair {
  SslCtxPtr client_ctx{SSL_CTX_new(TLS_client_method())};
  SslCtxPtr server_ctx{SSL_CTX_new(TLS_server_method())};
  SslPtr client;
  SslPtr server;
};

bool drive(SslPair& p) {
  for (int round = 0; round < 20; ++round) {
    const int c = SSL_do_handshake(p.client.get());
    const int s = SSL_do_handshake(p.server.get());
    if (c == 1 && s == 1) return true;
    const int ce = SSL_get_error(p.client.get(), c);
    const int se = SSL_get_error(p.server.get(), s);
    if ((c != 1 && ce != SSL_ERROR_WANT_READ) || (s != 1 && se != SSL_ERROR_WANT_READ)) {
      ADD_FAILURE() << "client " << c << "/" << ce << ", server " << s << "/" << se << ": "
                    << drain_ossl_errors();
      return false;
    }
  }
  return false;
}

TEST_P(BuiltinKeyHandshake, ClientVerifiesTheServer) {
  const auto& [kind, version, group] = GetParam();
  auto methods = BuiltinKeyMethods::install();
  ASSERT_TRUE(methods.ok());
  const Pki& p = installed_pki(kind);
  const CertAndKey& leaf = p.leaf;
  const std::string host = kind == KeyKind::kEcP256 ? "ec.test" : "rsa.test";
  ASSERT_EQ(EVP_PKEY_get0_provider(leaf.key.get()), nullptr) << "a built-in server key";

  SslPair pair;
  // `group` first; P-256 after it because a TLS 1.2 server can only use an EC certificate on a
  // curve the client lists (RFC 8422 5.1), even when the key exchange uses another group.
  const std::string groups = group == "P-256" ? group : group + ":P-256";
  for (SSL_CTX* ctx : {pair.client_ctx.get(), pair.server_ctx.get()}) {
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    ASSERT_EQ(SSL_CTX_set1_groups_list(ctx, groups.c_str()), 1);
  }
  X509_STORE_add_cert(SSL_CTX_get_cert_store(pair.client_ctx.get()), p.ca.cert.get());
  SSL_CTX_set_verify(pair.client_ctx.get(), SSL_VERIFY_PEER, nullptr);
  ASSERT_EQ(SSL_CTX_use_certificate(pair.server_ctx.get(), leaf.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(pair.server_ctx.get(), leaf.key.get()), 1);
  pair.client.reset(SSL_new(pair.client_ctx.get()));
  pair.server.reset(SSL_new(pair.server_ctx.get()));
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&client_end, 0, &server_end, 0), 1);
  SSL_set_bio(pair.client.get(), client_end, client_end);
  SSL_set_bio(pair.server.get(), server_end, server_end);
  SSL_set_connect_state(pair.client.get());
  SSL_set_accept_state(pair.server.get());
  SSL_set1_host(pair.client.get(), host.c_str());

  ASSERT_TRUE(drive(pair)) << drain_ossl_errors();
  EXPECT_EQ(SSL_version(pair.client.get()), version);
  const int negotiated = SSL_get_negotiated_group(pair.client.get());
  EXPECT_EQ(negotiated, group == "X25519" ? NID_X25519 : EC_curve_nist2nid(group.c_str()));
  EXPECT_EQ(SSL_get_verify_result(pair.client.get()), X509_V_OK);
  X509* peer = SSL_get0_peer_certificate(pair.client.get());
  ASSERT_NE(peer, nullptr);
  EXPECT_TRUE(has_builtin_key(peer)) << "the server's key took the built-in path";

  const std::string ping = "ping over " + group;
  ASSERT_EQ(SSL_write(pair.client.get(), ping.data(), static_cast<int>(ping.size())),
            static_cast<int>(ping.size()));
  char buf[64] = {};
  ASSERT_EQ(SSL_read(pair.server.get(), buf, sizeof buf), static_cast<int>(ping.size()));
  EXPECT_EQ(std::string(buf, ping.size()), ping);
}

INSTANTIATE_TEST_SUITE_P(KeysVersionsGroups, BuiltinKeyHandshake,
                         ::testing::Combine(::testing::Values(KeyKind::kEcP256, KeyKind::kRsa2048),
                                            ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                                            ::testing::Values("X25519", "P-256", "P-384", "P-521")),
                         [](const auto& info) {
                           std::string group = std::get<2>(info.param);
                           std::erase(group, '-');
                           return std::string(std::get<0>(info.param) == KeyKind::kEcP256 ? "Ec"
                                                                                          : "Rsa") +
                                  (std::get<1>(info.param) == TLS1_3_VERSION ? "Tls13" : "Tls12") +
                                  group;
                         });

}  // namespace
}  // namespace wb::intercept
