// Forged certificates: every field checked with OpenSSL's own parsing and with the openssl
// command line (x509 -text, verify -crl_check against our CRL).
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "certs/cert_service.h"
#include "certs/forge.h"
#include "tests/certs/test_pki.h"

namespace wb::certs {
namespace {

using test::LeafSpec;
using test::UpstreamPki;

std::unique_ptr<CertService> make_service(
    std::string host = "crl.bridge.test",
    std::chrono::seconds max_validity = std::chrono::hours(24 * 397)) {
  CertConfig cfg;
  cfg.ephemeral = true;
  cfg.crl_host = std::move(host);
  cfg.max_validity = max_validity;
  cfg.ec_pool_keys = 2;
  cfg.rsa_pool_keys = 1;
  auto svc = CertService::open(cfg);
  EXPECT_TRUE(svc.ok()) << svc.error().message();
  EXPECT_TRUE((*svc)->wait_ready(std::chrono::seconds(30)));
  return std::move(svc).value();
}

std::vector<std::string> names_of(X509* cert, int type) {
  std::vector<std::string> out;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != type) continue;
    if (type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       ASN1_STRING_length(gn->d.dNSName));
    } else {
      char text[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(gn->d.iPAddress);
      inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), text,
                sizeof(text));
      out.emplace_back(text);
    }
  }
  return out;
}

std::string cn_of(X509* cert) {
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

std::int64_t epoch(const ASN1_TIME* t) {
  return asn1_time_to_epoch(t).value();
}

std::vector<std::string> uris(X509* cert, int nid) {
  std::vector<std::string> out;
  if (nid == NID_crl_distribution_points) {
    auto* dps = static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert, nid, nullptr, nullptr));
    for (int i = 0; dps && i < sk_DIST_POINT_num(dps); ++i) {
      DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
      GENERAL_NAMES* full = dp->distpoint ? dp->distpoint->name.fullname : nullptr;
      for (int j = 0; full && j < sk_GENERAL_NAME_num(full); ++j) {
        GENERAL_NAME* gn = sk_GENERAL_NAME_value(full, j);
        if (gn->type == GEN_URI) {
          out.emplace_back(reinterpret_cast<const char*>(
              ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)));
        }
      }
    }
    CRL_DIST_POINTS_free(dps);
  } else {
    auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, nid, nullptr, nullptr));
    for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
      ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
      std::string kind = OBJ_obj2nid(ad->method) == NID_ad_OCSP ? "OCSP:" : "caIssuers:";
      out.push_back(kind + reinterpret_cast<const char*>(
                               ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier)));
    }
    AUTHORITY_INFO_ACCESS_free(aia);
  }
  return out;
}

class ForgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new UpstreamPki();
    svc_ = make_service().release();
  }
  static void TearDownTestSuite() {
    delete svc_;
    delete pki_;
  }
  std::shared_ptr<const ForgedCert> forge(X509* leaf, bool verified = true, KeyTypes accepts = {}) {
    auto r = svc_->forge(ForgeRequest{leaf, verified, accepts}, std::time(nullptr));
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : nullptr;
  }
  static UpstreamPki* pki_;
  static CertService* svc_;
};
UpstreamPki* ForgeTest::pki_ = nullptr;
CertService* ForgeTest::svc_ = nullptr;

TEST_F(ForgeTest, CopiesNamesAndCarriesRevocationPointers) {
  LeafSpec spec;
  spec.ips = {"192.0.2.2", "2001:db8::2"};
  X509Ptr leaf = pki_->leaf(spec);
  auto forged = forge(leaf.get());
  ASSERT_TRUE(forged);
  X509* c = forged->cert.get();
  const Keyring& ca = svc_->issuer(IssuerRole::trusted);

  EXPECT_EQ(cn_of(c), "www.example.test");
  EXPECT_EQ(names_of(c, GEN_DNS), (std::vector<std::string>{"www.example.test", "example.test"}));
  EXPECT_EQ(names_of(c, GEN_IPADD), (std::vector<std::string>{"192.0.2.2", "2001:db8::2"}));
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(ca.cert())), 0);
  EXPECT_EQ(X509_verify(c, X509_get0_pubkey(ca.cert())), 1);
  EXPECT_EQ(X509_check_private_key(c, forged->key.get()), 1);
  EXPECT_EQ(forged->issuer_cert, ca.cert());

  const std::string base = "http://crl.bridge.test/wirebump/";
  EXPECT_EQ(uris(c, NID_crl_distribution_points),
            (std::vector<std::string>{base + "crl/" + ca.id() + ".crl"}));
  EXPECT_EQ(uris(c, NID_info_access),
            (std::vector<std::string>{"OCSP:" + base + "ocsp",
                                      "caIssuers:" + base + "ca/" + ca.id() + ".crt"}));

  // Serial: positive, at most 128 bits, the one recorded as issued.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
  EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);
  EXPECT_LE(ASN1_STRING_length(serial), 16);
  EXPECT_EQ(serial_hex(serial), forged->serial);
  EXPECT_EQ(svc_->serial_status(forged->serial).status, CertStatus::good);

  // Extensions: not a CA, usages, key identifiers.
  std::uint32_t flags = X509_get_extension_flags(c);
  EXPECT_EQ(flags & EXFLAG_CA, 0u);
  EXPECT_NE(flags & EXFLAG_BCONS, 0u);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(c), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  ASSERT_NE(X509_get0_subject_key_id(c), nullptr);
  ASSERT_NE(X509_get0_authority_key_id(c), nullptr);
  EXPECT_EQ(
      ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(c), X509_get0_subject_key_id(ca.cert())), 0);
  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
}

TEST_F(ForgeTest, OpensslCommandLineSeesTheSameFields) {
  LeafSpec spec;
  spec.ips = {"192.0.2.2"};
  X509Ptr leaf = pki_->leaf(spec);
  auto forged = forge(leaf.get());
  ASSERT_TRUE(forged);
  test::TempDir dir;
  test::write_text(dir.path() / "forged.pem", test::pem_of(forged->cert.get()));
  auto r = test::openssl("x509 -noout -text -in " + (dir.path() / "forged.pem").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string id = svc_->issuer(IssuerRole::trusted).id();
  for (const std::string& want : std::vector<std::string>{
           "Subject: CN = www.example.test", "DNS:www.example.test, DNS:example.test",
           "IP Address:192.0.2.2", "X509v3 CRL Distribution Points",
           "URI:http://crl.bridge.test/wirebump/crl/" + id + ".crl",
           "OCSP - URI:http://crl.bridge.test/wirebump/ocsp",
           "CA Issuers - URI:http://crl.bridge.test/wirebump/ca/" + id + ".crt", "CA:FALSE",
           "Digital Signature", "TLS Web Server Authentication", "X509v3 Subject Key Identifier",
           "X509v3 Authority Key Identifier", "Signature Algorithm: ecdsa-with-SHA256"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "\n" << r.out;
  }
  auto serial = test::openssl("x509 -noout -serial -in " + (dir.path() / "forged.pem").string());
  EXPECT_EQ(serial.out,
            "serial=" + std::string(forged->serial.size() % 2 ? "0" : "") + forged->serial + "\n");
}

TEST_F(ForgeTest, OpensslVerifiesAgainstIssuerAndCrlAndSeesRevocation) {
  // Its own service: revoking here must not disturb the other tests.
  auto svc = make_service();
  X509Ptr leaf = pki_->leaf({});
  auto forged = svc->forge(ForgeRequest{leaf.get(), true, {}}, std::time(nullptr));
  ASSERT_TRUE(forged.ok());
  test::TempDir dir;
  auto p = [&](const char* name) { return (dir.path() / name).string(); };
  test::write_text(p("forged.pem"), test::pem_of((*forged)->cert.get()));
  test::write_text(p("issuer.pem"), svc->issuer(IssuerRole::trusted).cert_pem());
  test::write_text(p("untrusted.pem"), svc->issuer(IssuerRole::untrusted).cert_pem());
  test::write_bytes(p("crl.der"), *svc->crl_der(svc->issuer(IssuerRole::trusted).id()));
  ASSERT_EQ(
      test::openssl("crl -inform DER -in " + p("crl.der") + " -out " + p("crl.pem")).exit_code, 0);

  std::string verify = "verify -purpose sslserver -CAfile " + p("issuer.pem") +
                       " -crl_check -CRLfile " + p("crl.pem") + " " + p("forged.pem");
  auto ok = test::openssl(verify);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find(": OK"), std::string::npos) << ok.out;
  // Not trusted through the other issuer.
  auto wrong = test::openssl("verify -CAfile " + p("untrusted.pem") + " " + p("forged.pem"));
  EXPECT_NE(wrong.exit_code, 0) << wrong.out;

  ASSERT_TRUE(svc->revoke("serial=" + (*forged)->serial, std::time(nullptr)).ok());
  test::write_bytes(p("crl.der"), *svc->crl_der(svc->issuer(IssuerRole::trusted).id()));
  ASSERT_EQ(
      test::openssl("crl -inform DER -in " + p("crl.der") + " -out " + p("crl.pem")).exit_code, 0);
  auto revoked = test::openssl(verify);
  EXPECT_NE(revoked.exit_code, 0) << revoked.out;
  EXPECT_NE(revoked.out.find("certificate revoked"), std::string::npos) << revoked.out;
}

TEST_F(ForgeTest, UnverifiedUpstreamGetsTheUntrustedIssuer) {
  X509Ptr leaf = pki_->leaf({});
  auto trusted = forge(leaf.get(), true);
  auto untrusted = forge(leaf.get(), false);
  ASSERT_TRUE(trusted && untrusted);
  const Keyring& bad = svc_->issuer(IssuerRole::untrusted);
  EXPECT_EQ(untrusted->issuer, IssuerRole::untrusted);
  EXPECT_EQ(untrusted->issuer_cert, bad.cert());
  EXPECT_EQ(X509_verify(untrusted->cert.get(), X509_get0_pubkey(bad.cert())), 1);
  EXPECT_NE(X509_verify(untrusted->cert.get(),
                        X509_get0_pubkey(svc_->issuer(IssuerRole::trusted).cert())),
            1);
  EXPECT_NE(trusted->serial, untrusted->serial);
  EXPECT_NE(cn_of(bad.cert()).find("UNTRUSTED"), std::string::npos);
  // Its CRL DP names the untrusted issuer's own CRL.
  EXPECT_EQ(uris(untrusted->cert.get(), NID_crl_distribution_points),
            (std::vector<std::string>{"http://crl.bridge.test/wirebump/crl/" + bad.id() + ".crl"}));
}

TEST_F(ForgeTest, ValidityIsClippedToMaximumAndIssuer) {
  auto svc = make_service("crl.bridge.test", std::chrono::hours(24 * 30));
  std::int64_t now = std::time(nullptr);
  LeafSpec spec;
  spec.not_before_offset = -400 * 86400L;
  spec.not_after_offset = 5 * 365 * 86400L;
  X509Ptr leaf = pki_->leaf(spec);
  auto f = svc->forge(ForgeRequest{leaf.get(), true, {}}, now);
  ASSERT_TRUE(f.ok());
  std::int64_t nb = epoch(X509_get0_notBefore((*f)->cert.get()));
  std::int64_t na = epoch(X509_get0_notAfter((*f)->cert.get()));
  EXPECT_EQ(nb, now - 86400);  // backdated one day for clock skew, not to the leaf's start
  EXPECT_EQ(na - nb, 30 * 86400);

  // A leaf outliving the issuer: the forged certificate ends with the issuer.
  auto big = make_service("crl.bridge.test", std::chrono::hours(24 * 365 * 100));
  spec.not_after_offset = 20 * 365 * 86400L;
  X509Ptr long_leaf = pki_->leaf(spec);
  auto g = big->forge(ForgeRequest{long_leaf.get(), true, {}}, now);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(epoch(X509_get0_notAfter((*g)->cert.get())),
            big->issuer(IssuerRole::trusted).not_after());

  // A short leaf keeps its own end; an expired leaf stays expired.
  spec.not_before_offset = -3600;
  spec.not_after_offset = 10 * 86400L;
  X509Ptr short_leaf = pki_->leaf(spec);
  auto h = svc->forge(ForgeRequest{short_leaf.get(), true, {}}, now);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(epoch(X509_get0_notAfter((*h)->cert.get())),
            epoch(X509_get0_notAfter(short_leaf.get())));
  spec.not_before_offset = -100 * 86400L;
  spec.not_after_offset = -86400 * 3;
  X509Ptr expired = pki_->leaf(spec);
  auto e = svc->forge(ForgeRequest{expired.get(), false, {}}, now);
  ASSERT_TRUE(e.ok());
  EXPECT_LT(X509_cmp_time(X509_get0_notAfter((*e)->cert.get()), nullptr), 0);
  EXPECT_LE(epoch(X509_get0_notBefore((*e)->cert.get())),
            epoch(X509_get0_notAfter((*e)->cert.get())));
}

TEST_F(ForgeTest, KeyTypeMirrorsServerWithinWhatTheClientAccepts) {
  LeafSpec rsa_spec;
  rsa_spec.rsa = true;
  rsa_spec.key_usage = "critical,digitalSignature,keyEncipherment";
  X509Ptr rsa_leaf = pki_->leaf(rsa_spec);
  X509Ptr ec_leaf = pki_->leaf({});

  auto rsa = forge(rsa_leaf.get(), true, KeyTypes::any());
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->key_type, KeyType::rsa2048);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(rsa->cert.get())), 2048);
  EXPECT_EQ(X509_get_key_usage(rsa->cert.get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));

  auto rsa_to_ec = forge(rsa_leaf.get(), true, KeyTypes::only(KeyType::ec_p256));
  ASSERT_TRUE(rsa_to_ec);
  EXPECT_EQ(rsa_to_ec->key_type, KeyType::ec_p256);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(rsa_to_ec->cert.get()), "EC"));
  // An EC key cannot encipher: that usage is not mirrored onto it.
  EXPECT_EQ(X509_get_key_usage(rsa_to_ec->cert.get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));

  auto ec_to_rsa = forge(ec_leaf.get(), true, KeyTypes::only(KeyType::rsa2048));
  ASSERT_TRUE(ec_to_rsa);
  EXPECT_EQ(ec_to_rsa->key_type, KeyType::rsa2048);
  auto ec = forge(ec_leaf.get(), true, {});
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->key_type, KeyType::ec_p256);

  const std::uint16_t chrome[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  const std::uint16_t ec_only[] = {0x0403, 0x0503, 0x0807};
  const std::uint16_t rsa_only[] = {0x0804, 0x0401};
  EXPECT_TRUE(key_types_from_signature_schemes(chrome).has(KeyType::ec_p256));
  EXPECT_TRUE(key_types_from_signature_schemes(chrome).has(KeyType::rsa2048));
  EXPECT_FALSE(key_types_from_signature_schemes(ec_only).has(KeyType::rsa2048));
  EXPECT_FALSE(key_types_from_signature_schemes(rsa_only).has(KeyType::ec_p256));
  EXPECT_EQ(choose_key_type(KeyType::rsa2048, key_types_from_signature_schemes(ec_only)),
            KeyType::ec_p256);
}

TEST_F(ForgeTest, LeafWithoutSanGetsItsCnAndHostileCnIsNotInjected) {
  LeafSpec spec;
  spec.cn = "legacy.example.test";
  spec.dns = {};
  X509Ptr leaf = pki_->leaf(spec);
  auto f = forge(leaf.get());
  ASSERT_TRUE(f);
  EXPECT_EQ(names_of(f->cert.get(), GEN_DNS), (std::vector<std::string>{"legacy.example.test"}));

  spec.cn = "evil.test,DNS:bank.test";
  X509Ptr hostile = pki_->leaf(spec);
  auto h = forge(hostile.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(cn_of(h->cert.get()), "evil.test,DNS:bank.test");
  EXPECT_TRUE(names_of(h->cert.get(), GEN_DNS).empty());

  spec.cn = "192.0.2.7";
  X509Ptr ip = pki_->leaf(spec);
  auto i = forge(ip.get());
  ASSERT_TRUE(i);
  EXPECT_EQ(names_of(i->cert.get(), GEN_IPADD), (std::vector<std::string>{"192.0.2.7"}));
}

TEST_F(ForgeTest, SerialsAreFreshAndPositive) {
  std::set<std::string> seen;
  bool top_bit_seen = false;
  for (int i = 0; i < 200; ++i) {
    std::string s = random_serial();
    ASSERT_LE(s.size(), 32u);
    ASSERT_GE(s.size(), 1u);
    ASSERT_NE(s.front(), '0') << s;  // canonical: no leading zeros, never zero
    // All 128 bits are random: about half the serials use the top bit (none in 200: 2^-200).
    if (s.size() == 32 && std::stoi(s.substr(0, 1), nullptr, 16) >= 8) top_bit_seen = true;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_TRUE(top_bit_seen);

  // Forged certificates carry them as positive INTEGERs whatever the top bit (DER puts a zero
  // octet in front), and OpenSSL's own parser reads back the recorded serial.
  bool forged_with_top_bit = false;
  for (int i = 0; i < 64 && !forged_with_top_bit; ++i) {
    X509Ptr leaf = pki_->leaf({});  // a new server certificate: a cache miss, a new serial
    auto f = forge(leaf.get());
    ASSERT_TRUE(f);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(f->cert.get());
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    ASSERT_TRUE(bn);
    EXPECT_FALSE(BN_is_negative(bn.get()));
    EXPECT_LE(BN_num_bits(bn.get()), 128);
    EXPECT_EQ(serial_hex(serial), f->serial);
    if (BN_num_bits(bn.get()) == 128) {
      forged_with_top_bit = true;
      test::TempDir dir;
      test::write_text(dir.path() / "f.pem", test::pem_of(f->cert.get()));
      auto text = test::openssl("x509 -noout -serial -in " + (dir.path() / "f.pem").string());
      EXPECT_EQ(text.out, "serial=" + f->serial + "\n");
      // DER: INTEGER, 17 content octets, the first one the zero that keeps it positive.
      unsigned char* der = nullptr;
      const int n = i2d_ASN1_INTEGER(serial, &der);
      ASSERT_EQ(n, 19);
      EXPECT_EQ(der[0], V_ASN1_INTEGER);
      EXPECT_EQ(der[1], 17);
      EXPECT_EQ(der[2], 0x00);
      EXPECT_GE(der[3], 0x80);
      OPENSSL_free(der);
      // Revocation reads the same serial: on the CRL, and OCSP says revoked.
      ASSERT_TRUE(svc_->revoke(f->serial, std::time(nullptr)).ok());
      auto crl_der = svc_->crl_der(svc_->issuer(IssuerRole::trusted).id());
      ASSERT_TRUE(crl_der);
      const unsigned char* p = crl_der->data();
      X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der->size())));
      ASSERT_TRUE(crl);
      X509_REVOKED* entry = nullptr;
      EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, serial), 1);
      EXPECT_EQ(svc_->serial_status(f->serial).status, CertStatus::revoked);
    }
  }
  EXPECT_TRUE(forged_with_top_bit);  // 64 misses without one: 2^-64
}

TEST_F(ForgeTest, Ipv6CrlHostIsBracketedInUrls) {
  auto svc = make_service("2001:db8::fe");
  X509Ptr leaf = pki_->leaf({});
  auto f = svc->forge(ForgeRequest{leaf.get(), true, {}}, std::time(nullptr));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(uris((*f)->cert.get(), NID_info_access).at(0),
            "OCSP:http://[2001:db8::fe]/wirebump/ocsp");
  EXPECT_EQ(svc->info(IssuerRole::trusted).pem_url,
            "http://[2001:db8::fe]/wirebump/ca/" + svc->issuer(IssuerRole::trusted).id() + ".pem");
}

TEST_F(ForgeTest, ForgeAsyncDeliversOnTheWorker) {
  X509Ptr leaf = pki_->leaf({});
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<const ForgedCert> got;
  std::thread::id caller = std::this_thread::get_id(), ran_on;
  svc_->forge_async(ForgeRequest{leaf.get(), true, {}}, std::time(nullptr),
                    [&](Result<std::shared_ptr<const ForgedCert>> r) {
                      std::lock_guard lock(mu);
                      got = r.ok() ? *r : nullptr;
                      ran_on = std::this_thread::get_id();
                      cv.notify_all();
                    });
  leaf.reset();  // the service holds its own reference
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got != nullptr; }));
  EXPECT_NE(ran_on, caller);
  EXPECT_EQ(cn_of(got->cert.get()), "www.example.test");
}

}  // namespace
}  // namespace wb::certs

namespace wb::certs {
namespace {

TEST(ForgeConcurrency, ThreadsForgeAndHitTheCacheSafely) {
  test::UpstreamPki pki;
  std::vector<X509Ptr> leaves;
  for (int i = 0; i < 8; ++i) {
    LeafSpec spec;
    spec.cn = "site" + std::to_string(i) + ".example.test";
    spec.dns = {spec.cn};
    spec.rsa = i % 2 == 1;
    leaves.push_back(pki.leaf(spec));
  }
  auto svc = make_service();
  std::int64_t now = std::time(nullptr);
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const ForgedCert>> by_serial;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        X509* leaf = leaves[static_cast<std::size_t>((i + t) % 8)].get();
        auto f = svc->forge(ForgeRequest{leaf, i % 3 != 0, KeyTypes::any()}, now);
        std::lock_guard lock(mu);
        ASSERT_TRUE(f.ok()) << f.error().message();
        by_serial[(*f)->serial] = *f;
      }
    });
  }
  for (auto& th : threads) th.join();
  // 8 leaves x {trusted, untrusted} distinct cache keys; racing misses may forge a key twice,
  // but every certificate verifies against its issuer and every serial is distinct and recorded.
  EXPECT_GE(by_serial.size(), 16u);
  for (const auto& [serial, f] : by_serial) {
    EXPECT_EQ(X509_verify(f->cert.get(), X509_get0_pubkey(svc->issuer(f->issuer).cert())), 1);
    EXPECT_EQ(svc->serial_status(serial).status, CertStatus::good);
  }
  CacheStats s = svc->cache_stats();
  EXPECT_EQ(s.hits + s.misses, 160u);
  EXPECT_EQ(s.size, 16u);
}

}  // namespace
}  // namespace wb::certs
