// CRL and OCSP: verified with OpenSSL against the issuer, through the API and the command line.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <ctime>

#include "certs/cert_service.h"
#include "certs/crl.h"
#include "certs/ocsp_responder.h"
#include "tests/certs/test_pki.h"

namespace wb::certs {
namespace {

using test::UpstreamPki;

std::unique_ptr<CertService> ephemeral_service() {
  CertConfig cfg;
  cfg.ephemeral = true;
  cfg.crl_host = "192.0.2.254";
  cfg.ec_pool_keys = 1;
  cfg.rsa_pool_keys = 1;
  return std::move(CertService::open(cfg)).value();
}

X509CrlPtr parse_crl(const Bytes& der) {
  const unsigned char* p = der.data();
  return X509CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

std::uint64_t crl_number_of(X509_CRL* crl) {
  Asn1IntegerPtr n(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  std::uint64_t v = 0;
  EXPECT_TRUE(n && ASN1_INTEGER_get_uint64(&v, n.get()) == 1);
  return v;
}

Bytes der_of(OCSP_REQUEST* req) {
  int len = i2d_OCSP_REQUEST(req, nullptr);
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  i2d_OCSP_REQUEST(req, &p);
  return out;
}

// An OCSP request for `cert` issued by `issuer`, optionally with a nonce.
OcspRequestPtr request_for(X509* cert, X509* issuer, bool nonce, const EVP_MD* md = EVP_sha1()) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(md, cert, issuer);
  EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
  if (nonce) {
    EXPECT_EQ(OCSP_request_add1_nonce(req.get(), nullptr, -1), 1);
  }
  return req;
}

struct Parsed {
  int response_status = -1;
  OcspBasicRespPtr basic;
};
Parsed parse_response(const Bytes& der) {
  const unsigned char* p = der.data();
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  Parsed out;
  if (!resp) return out;
  out.response_status = OCSP_response_status(resp.get());
  out.basic.reset(OCSP_response_get1_basic(resp.get()));
  return out;
}

struct Single {
  int status = -2;
  std::int64_t revoked_at = 0, this_update = 0, next_update = 0;
};
Single single_status(OCSP_BASICRESP* bs, X509* cert, X509* issuer) {
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  int status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  Single s;
  if (OCSP_resp_find_status(bs, id.get(), &status, &reason, &rev, &thisupd, &nextupd) != 1)
    return s;
  s.status = status;
  if (rev) s.revoked_at = asn1_time_to_epoch(rev).value();
  if (thisupd) s.this_update = asn1_time_to_epoch(thisupd).value();
  if (nextupd) s.next_update = asn1_time_to_epoch(nextupd).value();
  return s;
}

bool verify_basic(OCSP_BASICRESP* bs, X509* trust_anchor) {
  std::unique_ptr<X509_STORE, OsslDeleter<&X509_STORE_free>> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), trust_anchor);
  return OCSP_basic_verify(bs, nullptr, store.get(), 0) == 1;
}

class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = ephemeral_service();
    leaf_ = pki_.leaf({});
    auto f = svc_->forge(ForgeRequest{leaf_.get(), true, {}}, now_);
    ASSERT_TRUE(f.ok()) << f.error().message();
    forged_ = *f;
  }
  X509* issuer() { return svc_->issuer(IssuerRole::trusted).cert(); }
  std::string id() { return svc_->issuer(IssuerRole::trusted).id(); }

  UpstreamPki pki_;
  std::unique_ptr<CertService> svc_;
  X509Ptr leaf_;
  std::shared_ptr<const ForgedCert> forged_;
  std::int64_t now_ = std::time(nullptr);
};

TEST_F(RevocationTest, CrlIsSignedThirtyDaysAndNumbersIncrement) {
  auto der = svc_->crl_der(id());
  ASSERT_TRUE(der);
  X509CrlPtr crl = parse_crl(*der);
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer())), 0);
  std::int64_t last = asn1_time_to_epoch(X509_CRL_get0_lastUpdate(crl.get())).value();
  std::int64_t next = asn1_time_to_epoch(X509_CRL_get0_nextUpdate(crl.get())).value();
  EXPECT_EQ(next - last, 30 * 86400);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), 1);  // v2
  std::uint64_t first = crl_number_of(crl.get());
  EXPECT_EQ(first, svc_->crl_number(IssuerRole::trusted));
  EXPECT_LE(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 0);  // -1: no list at all

  ASSERT_TRUE(svc_->regenerate_crls(now_ + 5).ok());
  X509CrlPtr again = parse_crl(*svc_->crl_der(id()));
  EXPECT_EQ(crl_number_of(again.get()), first + 1);
  ASSERT_TRUE(svc_->regenerate_crls(now_ + 6).ok());
  EXPECT_EQ(crl_number_of(parse_crl(*svc_->crl_der(id())).get()), first + 2);

  // The untrusted issuer's CRL is its own.
  X509CrlPtr other = parse_crl(*svc_->crl_der(svc_->issuer(IssuerRole::untrusted).id()));
  ASSERT_TRUE(other);
  EXPECT_EQ(
      X509_CRL_verify(other.get(), X509_get0_pubkey(svc_->issuer(IssuerRole::untrusted).cert())),
      1);
}

TEST_F(RevocationTest, RevokedSerialAppearsInCrlAndOpensslAgrees) {
  std::int64_t when = now_ + 10;
  std::uint64_t before = svc_->crl_number(IssuerRole::trusted);
  // Lower case with colons, as people paste it.
  std::string spaced;
  for (std::size_t i = 0; i < forged_->serial.size(); ++i) {
    spaced += static_cast<char>(std::tolower(forged_->serial[i]));
    if (i % 2 == 1 && i + 1 < forged_->serial.size()) spaced += ':';
  }
  ASSERT_TRUE(svc_->revoke(spaced, when).ok());
  EXPECT_EQ(svc_->crl_number(IssuerRole::trusted), before + 1);  // regenerated at once
  X509CrlPtr crl = parse_crl(*svc_->crl_der(id()));
  X509_REVOKED* entry = nullptr;
  ASSERT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get0_serialNumber(forged_->cert.get())),
            1);
  EXPECT_EQ(asn1_time_to_epoch(X509_REVOKED_get0_revocationDate(entry)).value(), when);

  test::TempDir dir;
  test::write_bytes(dir.path() / "crl.der", *svc_->crl_der(id()));
  test::write_text(dir.path() / "ca.pem", svc_->issuer(IssuerRole::trusted).cert_pem());
  auto r = test::openssl("crl -inform DER -in " + (dir.path() / "crl.der").string() + " -CAfile " +
                         (dir.path() / "ca.pem").string() + " -noout -text");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("verify OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Serial Number: " + std::string(forged_->serial.size() % 2 ? "0" : "") +
                       forged_->serial),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("X509v3 CRL Number"), std::string::npos);

  // Unknown and malformed serials are refused with a clear error.
  auto unknown = svc_->revoke("0123456789ABCDEF", now_);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("not issued"), std::string::npos);
  auto bad = svc_->revoke("xyz", now_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("not a hex number"), std::string::npos);
}

TEST_F(RevocationTest, CrlDueWellBeforeNextUpdateAndMaintainRegenerates) {
  EXPECT_FALSE(svc_->crl_due(now_ + 60));
  EXPECT_TRUE(svc_->crl_due(now_ + 7 * 86400 + 1));
  EXPECT_LT(7 * 86400, 30 * 86400);
  std::uint64_t n = svc_->crl_number(IssuerRole::trusted);
  ASSERT_TRUE(svc_->maintain(now_ + 60).ok());
  EXPECT_EQ(svc_->crl_number(IssuerRole::trusted), n);  // not due: untouched
  ASSERT_TRUE(svc_->maintain(now_ + 8 * 86400).ok());
  EXPECT_EQ(svc_->crl_number(IssuerRole::trusted), n + 1);
  EXPECT_FALSE(svc_->crl_due(now_ + 8 * 86400 + 60));
}

TEST_F(RevocationTest, OcspGoodRevokedUnknownWithNonce) {
  OcspRequestPtr req = request_for(forged_->cert.get(), issuer(), true);
  Parsed good = parse_response(svc_->ocsp(der_of(req.get()), now_));
  ASSERT_EQ(good.response_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
  ASSERT_TRUE(good.basic);
  EXPECT_TRUE(verify_basic(good.basic.get(), issuer()));
  EXPECT_EQ(OCSP_check_nonce(req.get(), good.basic.get()), 1);
  Single s = single_status(good.basic.get(), forged_->cert.get(), issuer());
  EXPECT_EQ(s.status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(s.this_update, now_);
  EXPECT_EQ(s.next_update, now_ + 3600);

  // SHA-256 CertIDs work too.
  OcspRequestPtr req256 = request_for(forged_->cert.get(), issuer(), false, EVP_sha256());
  Parsed good256 = parse_response(svc_->ocsp(der_of(req256.get()), now_));
  ASSERT_TRUE(good256.basic);
  EXPECT_EQ(OCSP_check_nonce(req256.get(), good256.basic.get()), 2);  // no nonce asked, none sent

  ASSERT_TRUE(svc_->revoke(forged_->serial, now_ + 3).ok());
  Parsed revoked = parse_response(svc_->ocsp(der_of(req.get()), now_ + 5));
  ASSERT_TRUE(revoked.basic);
  EXPECT_TRUE(verify_basic(revoked.basic.get(), issuer()));
  Single r = single_status(revoked.basic.get(), forged_->cert.get(), issuer());
  EXPECT_EQ(r.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(r.revoked_at, now_ + 3);

  // Our issuer, a serial it never signed: unknown.
  BignumPtr bn(BN_new());
  BN_rand(bn.get(), 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  OcspRequestPtr unk(OCSP_REQUEST_new());
  OCSP_request_add0_id(unk.get(),
                       OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer()),
                                        X509_get0_pubkey_bitstr(issuer()), serial.get()));
  Parsed unknown = parse_response(svc_->ocsp(der_of(unk.get()), now_));
  ASSERT_TRUE(unknown.basic);
  OCSP_SINGLERESP* single = OCSP_resp_get0(unknown.basic.get(), 0);
  ASSERT_NE(single, nullptr);
  EXPECT_EQ(OCSP_single_get0_status(single, nullptr, nullptr, nullptr, nullptr),
            V_OCSP_CERTSTATUS_UNKNOWN);

  // Somebody else's issuer: we are not authoritative.
  OcspRequestPtr foreign = request_for(leaf_.get(), pki_.ca(), true);
  EXPECT_EQ(parse_response(svc_->ocsp(der_of(foreign.get()), now_)).response_status,
            OCSP_RESPONSE_STATUS_UNAUTHORIZED);
}

TEST_F(RevocationTest, MalformedOcspRequestsNeverCrash) {
  auto status_of = [&](const Bytes& der) {
    return parse_response(svc_->ocsp(der, now_)).response_status;
  };
  EXPECT_EQ(status_of({}), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(status_of({0x30, 0x03, 0x02, 0x01, 0x01}), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  Bytes garbage(300);
  RAND_bytes(garbage.data(), static_cast<int>(garbage.size()));
  EXPECT_EQ(status_of(garbage), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  // Every truncation of a valid request, and trailing garbage.
  Bytes good = der_of(request_for(forged_->cert.get(), issuer(), true).get());
  for (std::size_t n = 0; n < good.size(); ++n) {
    Bytes prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_EQ(status_of(prefix), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << "prefix " << n;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(status_of(trailing), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(status_of(good), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  // Too many single requests.
  OcspRequestPtr many(OCSP_REQUEST_new());
  for (std::size_t i = 0; i <= kMaxOcspSingleRequests; ++i) {
    OCSP_request_add0_id(many.get(), OCSP_cert_to_id(EVP_sha1(), forged_->cert.get(), issuer()));
  }
  EXPECT_EQ(status_of(der_of(many.get())), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_F(RevocationTest, OpensslOcspCommandVerifiesOurResponses) {
  test::TempDir dir;
  auto p = [&](const char* name) { return (dir.path() / name).string(); };
  test::write_text(p("ca.pem"), svc_->issuer(IssuerRole::trusted).cert_pem());
  test::write_text(p("forged.pem"), test::pem_of(forged_->cert.get()));
  // The request as openssl builds it (with its nonce)...
  auto req = test::openssl("ocsp -issuer " + p("ca.pem") + " -cert " + p("forged.pem") +
                           " -reqout " + p("req.der"));
  ASSERT_EQ(req.exit_code, 0) << req.out;
  std::string text = wb::test::read_file(p("req.der"));
  Bytes req_der(text.begin(), text.end());
  auto check = [&](const char* want) {
    test::write_bytes(p("resp.der"), svc_->ocsp(req_der, std::time(nullptr)));
    // openssl's verdict on our response: signature against the CA and the nonce it sent...
    auto r = test::openssl("ocsp -reqin " + p("req.der") + " -respin " + p("resp.der") +
                           " -CAfile " + p("ca.pem"));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("Response verify OK"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("once"), std::string::npos) << r.out;  // no nonce warning or error
    // ...and the status it reads for the certificate (-cert builds a fresh request, hence
    // -no_nonce here).
    auto s = test::openssl("ocsp -respin " + p("resp.der") + " -CAfile " + p("ca.pem") +
                           " -issuer " + p("ca.pem") + " -cert " + p("forged.pem") + " -no_nonce");
    EXPECT_EQ(s.exit_code, 0) << s.out;
    EXPECT_NE(s.out.find(std::string(p("forged.pem")) + ": " + want), std::string::npos) << s.out;
  };
  check("good");
  ASSERT_TRUE(svc_->revoke(forged_->serial, std::time(nullptr)).ok());
  check("revoked");
}

TEST_F(RevocationTest, StapleIsCachedAndFollowsRevocation) {
  auto first = svc_->staple(*forged_, now_);
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto second = svc_->staple(*forged_, now_ + 10);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());  // cached
  Parsed good = parse_response(**first);
  ASSERT_TRUE(good.basic);
  EXPECT_TRUE(verify_basic(good.basic.get(), issuer()));
  EXPECT_EQ(single_status(good.basic.get(), forged_->cert.get(), issuer()).status,
            V_OCSP_CERTSTATUS_GOOD);

  auto later = svc_->staple(*forged_, now_ + 301);  // past staple_lifetime
  ASSERT_TRUE(later.ok());
  EXPECT_NE(later->get(), first->get());

  ASSERT_TRUE(svc_->revoke(forged_->serial, now_ + 20).ok());
  auto after = svc_->staple(*forged_, now_ + 21);
  ASSERT_TRUE(after.ok());
  Parsed revoked = parse_response(**after);
  EXPECT_EQ(single_status(revoked.basic.get(), forged_->cert.get(), issuer()).status,
            V_OCSP_CERTSTATUS_REVOKED);
}

TEST(RevocationPersistence, JournalAndCrlNumberSurviveRestart) {
  test::TempDir dir;
  UpstreamPki pki;
  X509Ptr leaf = pki.leaf({});
  CertConfig cfg;
  cfg.state_dir = dir.path() / "state";
  cfg.crl_host = "crl.bridge.test";
  cfg.ec_pool_keys = 1;
  cfg.rsa_pool_keys = 1;
  std::string revoked_serial, good_serial, id;
  std::uint64_t number = 0;
  std::int64_t now = std::time(nullptr);
  {
    auto svc = CertService::open(cfg);
    ASSERT_TRUE(svc.ok()) << svc.error().message();
    auto a = (*svc)->forge(ForgeRequest{leaf.get(), true, {}}, now);
    auto b = (*svc)->forge(ForgeRequest{leaf.get(), false, {}}, now);
    ASSERT_TRUE(a.ok() && b.ok());
    revoked_serial = (*a)->serial;
    good_serial = (*b)->serial;
    ASSERT_TRUE((*svc)->maintain(now).ok());
    ASSERT_TRUE((*svc)->revoke(revoked_serial, now + 1).ok());
    number = (*svc)->crl_number(IssuerRole::trusted);
    id = (*svc)->issuer(IssuerRole::trusted).id();
  }
  struct stat st {};
  ASSERT_EQ(stat((cfg.state_dir / "revocation" / (id + ".journal")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((cfg.state_dir / "revocation").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto svc = CertService::open(cfg);
  ASSERT_TRUE(svc.ok()) << svc.error().message();
  EXPECT_EQ((*svc)->issuer(IssuerRole::trusted).id(), id);
  SerialStatus r = (*svc)->serial_status(revoked_serial);
  EXPECT_EQ(r.status, CertStatus::revoked);
  EXPECT_EQ(r.revoked_at, now + 1);
  EXPECT_EQ((*svc)->serial_status(good_serial).status, CertStatus::good);
  EXPECT_GT((*svc)->crl_number(IssuerRole::trusted), number);
  X509CrlPtr crl = parse_crl(*(*svc)->crl_der(id));
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 1);
}

TEST(RevocationStoreJournal, TornLastLineIsIgnoredAndGarbageIsAnError) {
  test::TempDir dir;
  auto path = dir.path() / "j.journal";
  std::int64_t now = std::time(nullptr);
  test::write_text(path, "issued ABC " + std::to_string(now + 1000) + "\nrevoked ABC " +
                             std::to_string(now) + "\nissued DEF 12");
  auto store = RevocationStore::open(path, now);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*store)->status("ABC").status, CertStatus::revoked);
  EXPECT_EQ((*store)->status("DEF").status, CertStatus::unknown);
  ASSERT_TRUE((*store)->record_issued("DEF", now + 1000));
  ASSERT_TRUE((*store)->flush().ok());
  store->reset();
  auto again = RevocationStore::open(path, now);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->status("DEF").status, CertStatus::good);

  // Expired for more than a day: forgotten (also from memory of a running store).
  ASSERT_TRUE((*again)->record_issued("AAA", now - 2 * 86400));
  EXPECT_EQ((*again)->prune(now), 1u);
  EXPECT_EQ((*again)->status("AAA").status, CertStatus::unknown);
  EXPECT_EQ((*again)->status("DEF").status, CertStatus::good);

  test::write_text(path, "issued ABC 1\nbogus line\n");
  auto bad = RevocationStore::open(path, now);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("line 2"), std::string::npos);
}

}  // namespace
}  // namespace wb::certs
