// The two caches of the interception path: speculation hints (what the last interception of a
// server looked like) and kept upstream verification results, with real certificates and
// OpenSSL's own verification.
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include "agent/intercept/speculation_hints.h"
#include "agent/intercept/verify_cache.h"
#include "certs/ossl.h"
#include "tests/intercept/test_pki.h"

namespace wb::intercept {
namespace {

using namespace std::chrono_literals;
using Clock = SpeculationHints::Clock;

std::shared_ptr<const certs::ForgedCert> forged(certs::IssuerRole role) {
  auto f = std::make_shared<certs::ForgedCert>();
  f->issuer = role;
  f->serial = "01";
  return f;
}

SpeculationHint hint(std::string alpn = "h2") {
  return SpeculationHint{forged(certs::IssuerRole::trusted), {1, 2, 3}, std::move(alpn)};
}

TEST(SpeculationHints, KeyTellsEveryFieldApart) {
  const std::vector<std::string> h2_h1 = {"h2", "http/1.1"};
  const std::vector<std::string> joined = {"h2http/1.1"};
  const auto ec = certs::KeyTypes::only(certs::KeyType::ec_p256);
  const auto base = SpeculationHints::key("192.0.2.2:443", "a.test", h2_h1, ec);
  EXPECT_EQ(base, SpeculationHints::key("192.0.2.2:443", "a.test", h2_h1, ec));
  EXPECT_NE(base, SpeculationHints::key("192.0.2.3:443", "a.test", h2_h1, ec));
  EXPECT_NE(base, SpeculationHints::key("192.0.2.2:443", "b.test", h2_h1, ec));
  EXPECT_NE(base, SpeculationHints::key("192.0.2.2:443", "a.test", joined, ec));
  EXPECT_NE(base, SpeculationHints::key("192.0.2.2:443", "a.test", {}, ec));
  EXPECT_NE(base, SpeculationHints::key("192.0.2.2:443", "a.test", h2_h1, certs::KeyTypes::any()));
  // No field can run into the next one.
  EXPECT_NE(SpeculationHints::key("a", "bc", {}, ec), SpeculationHints::key("ab", "c", {}, ec));
}

TEST(SpeculationHints, KeptUntilTheTtlThenForgotten) {
  SpeculationHints hints(8, 60s);
  const auto t0 = Clock::now();
  hints.put("k", hint("h2"), t0);
  auto found = hints.find("k", t0 + 59s);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->server_alpn, "h2");
  EXPECT_EQ(found->upstream_leaf_sha256[1], 2);
  EXPECT_FALSE(hints.find("k", t0 + 60s).has_value());
  EXPECT_EQ(hints.size(), 0u);  // an expired hint is removed when found
}

TEST(SpeculationHints, OnlyTrustedCertificatesAreKept) {
  SpeculationHints hints(8, 60s);
  const auto now = Clock::now();
  hints.put("untrusted", SpeculationHint{forged(certs::IssuerRole::untrusted), {}, ""}, now);
  hints.put("none", SpeculationHint{nullptr, {}, ""}, now);
  EXPECT_EQ(hints.size(), 0u);
  EXPECT_FALSE(hints.find("untrusted", now).has_value());
}

TEST(SpeculationHints, DropAndCapacity) {
  SpeculationHints hints(2, 60s);
  const auto now = Clock::now();
  hints.put("a", hint(), now);
  hints.put("b", hint(), now);
  hints.put("c", hint(), now);  // a, the least recently used, goes
  EXPECT_EQ(hints.size(), 2u);
  EXPECT_FALSE(hints.find("a", now).has_value());
  hints.drop("b");
  EXPECT_FALSE(hints.find("b", now).has_value());
  EXPECT_TRUE(hints.find("c", now).has_value());
  hints.drop("absent");  // harmless
  EXPECT_EQ(hints.size(), 1u);
}

// ---- VerifyCache ----

struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

class VerifyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.reset(X509_STORE_new());
    ASSERT_EQ(X509_STORE_add_cert(store_.get(), ca_.cert.get()), 1);
    now_ = static_cast<std::int64_t>(std::time(nullptr));
  }

  // One verification the way libssl asks for it: the leaf, the whole sent chain as the
  // untrusted certificates, the expected host name.
  struct Outcome {
    int ok;
    int error;
  };
  Outcome verify(VerifyCache& cache, X509* leaf, const std::string& host, std::int64_t now) {
    std::unique_ptr<STACK_OF(X509), StackFree> sent(sk_X509_new_null());
    sk_X509_push(sent.get(), leaf);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    EXPECT_EQ(X509_STORE_CTX_init(ctx, store_.get(), leaf, sent.get()), 1);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host.c_str(), host.size());
    Outcome o{cache.verify(ctx, now), X509_STORE_CTX_get_error(ctx)};
    X509_STORE_CTX_free(ctx);
    return o;
  }

  test::CertAndKey ca_ = test::make_ca("Verify Cache Root");
  test::CertAndKey leaf_ = test::make_leaf(ca_, "www.example.test", {"www.example.test"});
  std::unique_ptr<X509_STORE, StoreFree> store_;
  std::int64_t now_ = 0;
};

TEST_F(VerifyCacheTest, KeepsASuccessForTheSameChainAndName) {
  VerifyCache cache(16, 300s);
  auto first = verify(cache, leaf_.cert.get(), "www.example.test", now_);
  EXPECT_EQ(first.ok, 1);
  EXPECT_EQ(first.error, X509_V_OK);
  auto second = verify(cache, leaf_.cert.get(), "www.example.test", now_ + 1);
  EXPECT_EQ(second.ok, 1);
  EXPECT_EQ(second.error, X509_V_OK);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(VerifyCacheTest, FailuresAreVerifiedEveryTimeWithTheirOwnError) {
  VerifyCache cache(16, 300s);
  ASSERT_EQ(verify(cache, leaf_.cert.get(), "www.example.test", now_).ok, 1);
  auto stranger_ca = test::make_ca("Stranger Root");
  auto stranger = test::make_leaf(stranger_ca, "www.example.test", {"www.example.test"});
  const struct {
    X509* leaf;
    const char* host;
    int error;
  } failures[] = {
      // The same chain for another name: another key, and a failure that is never kept.
      {leaf_.cert.get(), "other.example.test", X509_V_ERR_HOSTNAME_MISMATCH},
      // A chain to a root the store does not hold.
      {stranger.cert.get(), "www.example.test", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
  };
  for (const auto& f : failures) {
    for (int i = 0; i < 2; ++i) {
      auto o = verify(cache, f.leaf, f.host, now_);
      EXPECT_EQ(o.ok, 0) << f.host;
      EXPECT_EQ(o.error, f.error) << f.host << " " << i;
    }
  }
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.misses(), 5u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(VerifyCacheTest, AnotherCertificateWithTheSameNamesIsVerifiedAgain) {
  VerifyCache cache(16, 300s);
  auto twin = test::make_leaf(ca_, "www.example.test", {"www.example.test"});  // its own key
  ASSERT_EQ(verify(cache, leaf_.cert.get(), "www.example.test", now_).ok, 1);
  ASSERT_EQ(verify(cache, twin.cert.get(), "www.example.test", now_).ok, 1);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.misses(), 2u);
}

TEST_F(VerifyCacheTest, KeptForTheTtlAndNeverPastNotAfter) {
  VerifyCache short_lived(16, 10s);
  ASSERT_EQ(verify(short_lived, leaf_.cert.get(), "www.example.test", now_).ok, 1);
  ASSERT_EQ(verify(short_lived, leaf_.cert.get(), "www.example.test", now_ + 9).ok, 1);
  EXPECT_EQ(short_lived.hits(), 1u);
  ASSERT_EQ(verify(short_lived, leaf_.cert.get(), "www.example.test", now_ + 10).ok, 1);
  EXPECT_EQ(short_lived.hits(), 1u);  // expired: verified again (and kept again)

  VerifyCache long_lived(16, std::chrono::seconds(100L * 365 * 86400));
  auto not_after = certs::asn1_time_to_epoch(X509_get0_notAfter(leaf_.cert.get()));
  ASSERT_TRUE(not_after.ok());
  ASSERT_EQ(verify(long_lived, leaf_.cert.get(), "www.example.test", now_).ok, 1);
  ASSERT_EQ(verify(long_lived, leaf_.cert.get(), "www.example.test", *not_after - 1).ok, 1);
  EXPECT_EQ(long_lived.hits(), 1u);
  verify(long_lived, leaf_.cert.get(), "www.example.test", *not_after);
  EXPECT_EQ(long_lived.hits(), 1u);  // the certificate's own end bounds what is kept
}

}  // namespace
}  // namespace wb::intercept
