// [certs] in wirebump.toml reaches the real agent: an agent started with max_validity_days = 30
// and cache_size = 16 forges 30-day certificates for 400-day upstream certificates (read back
// with OpenSSL from what `openssl s_client` received through the bridge), and its forged-
// certificate cache holds 16 entries, evicting the least recently used ones, as
// `wirebump status --json` and the human `status` line report.
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/agent/agent_fixture.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxValidityDays = 30;
constexpr int kCacheSize = 16;      // the smallest the config accepts
constexpr int kUpstreamDays = 400;  // longer than the default maximum (397) and than 30
const std::string kValidityName = "validity.test";

std::vector<std::string> cache_names() {
  std::vector<std::string> names;
  for (int i = 0; i < kCacheSize + 4; ++i) names.push_back("cache" + std::to_string(i) + ".test");
  return names;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The first certificate in PEM text, parsed by OpenSSL (null if none).
X509Ptr parse_first_pem(const std::string& text) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), int(text.size())),
                                                BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// notAfter - notBefore in seconds, -1 when OpenSSL cannot compute it.
long validity_seconds(const X509* cert) {
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) != 1) {
    return -1;
  }
  return long(days) * 86400 + seconds;
}

std::string issuer_cn(const X509* cert) {
  char text[256] = {};
  X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, text, sizeof(text));
  return text;
}

class CertsConfigE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    f_ = std::make_unique<AgentFixture>();
    if (!f_->topo().ok()) {
      setup_error_ = "topology: " + f_->topo().error();
      return;
    }
    setup_error_ = make_pki();
    if (setup_error_.empty()) setup_error_ = start_nginx();
    if (setup_error_.empty()) {
      // Top-level keys first (TOML puts keys after a [table] header into that table). The test
      // CA is the only trust anchor; pinning_window = 0 so no quick client is ever learned; no
      // speculative handshake, so that a repeated connection asks the certificate cache again.
      std::ofstream(f_->config_path(), std::ios::app)
          << "trust_store = \"" << dir() << "/pki/testca.pem\"\npinning_window = 0\n"
          << "speculative_handshake = false\n"
          << "[certs]\nmax_validity_days = " << kMaxValidityDays << "\ncache_size = " << kCacheSize
          << "\n";
      auto check = f_->cli("config check");
      if (check.exit_code != 0) setup_error_ = "config check: " + check.out + check.err;
    }
    if (setup_error_.empty()) setup_error_ = f_->start_agent();
  }
  static void TearDownTestSuite() { f_.reset(); }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  static std::string dir() { return f_->topo().dir(); }

  static std::vector<std::string> all_names() {
    auto names = cache_names();
    names.push_back(kValidityName);
    return names;
  }

  // A test CA and one EC certificate per server name, valid kUpstreamDays, all in one shell.
  static std::string make_pki() {
    const std::string p = dir() + "/pki";
    std::string script = "set -e; mkdir -p " + p + "; cd " + p +
                         "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-days 800 -subj '/CN=wirebump certs config test CA' -keyout testca.key "
                         "-out testca.pem 2>/dev/null";
    for (const auto& name : all_names()) {
      script +=
          "; openssl req -x509 -CA testca.pem -CAkey testca.key -newkey ec -pkeyopt "
          "ec_paramgen_curve:P-256 -nodes -days " +
          std::to_string(kUpstreamDays) + " -subj /CN=" + name +
          " -addext subjectAltName=DNS:" + name + " -keyout " + name + ".key -out " + name +
          ".pem 2>/dev/null";
    }
    auto r = run(script, 60s);
    return r.exit_code == 0 ? "" : "test PKI: " + r.err;
  }

  // nginx on 192.0.2.2:443, one server block (own certificate) per name, chosen by SNI.
  static std::string start_nginx() {
    run("mkdir -p " + dir() + "/www && echo 'forged ok' > " + dir() + "/www/hello.txt");
    return f_->start_nginx("  access_log off;\n" + sni_server_blocks(dir(), all_names()), 443);
  }

  // A real request through the bridge with SNI `name`; the output holds the presented chain.
  static CommandResult s_client(const std::string& name) {
    return f_->client(
        "printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | openssl s_client -ign_eof -showcerts "
        "-connect 192.0.2.2:443 -servername " +
            name + " 2>&1",
        30s);
  }

  static nlohmann::json cache() {
    auto s = f_->status();
    return s.is_object() && s.contains("certs") ? s["certs"]["cache"] : nlohmann::json();
  }

  static inline std::unique_ptr<AgentFixture> f_;
  static inline std::string setup_error_;
};

TEST_F(CertsConfigE2e, ForgedValidityIsClippedToTheConfiguredMaximum) {
  // The upstream certificate is valid for 400 days: longer than both 30 and the default 397.
  auto upstream = parse_first_pem(read_file(dir() + "/pki/" + kValidityName + ".pem"));
  ASSERT_NE(upstream, nullptr);
  ASSERT_EQ(validity_seconds(upstream.get()), long(kUpstreamDays) * 86400);

  auto r = s_client(kValidityName);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_NE(r.out.find("forged ok"), std::string::npos) << r.out;  // nginx answered through it
  auto forged = parse_first_pem(r.out);
  ASSERT_NE(forged, nullptr) << r.out;
  // Forged by the bridge (not the upstream certificate passed through) ...
  EXPECT_NE(issuer_cn(forged.get()), issuer_cn(upstream.get()));
  EXPECT_NE(X509_cmp(forged.get(), upstream.get()), 0);
  // ... and valid exactly the configured maximum: the upstream's and the issuer's ends are later.
  EXPECT_EQ(validity_seconds(forged.get()), long(kMaxValidityDays) * 86400);
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(forged.get()), nullptr), -1);  // valid now
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(forged.get()), nullptr), 1);
}

TEST_F(CertsConfigE2e, SmallCacheEvictsLeastRecentlyUsedAndStatusShowsIt) {
  const auto before = cache();
  ASSERT_TRUE(before.is_object()) << f_->status().dump();
  EXPECT_EQ(before.value("capacity", 0L), kCacheSize) << before.dump();

  const auto names = cache_names();  // 20 server certificates the agent has not seen yet
  for (const auto& name : names) {
    auto r = s_client(name);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.out;
    ASSERT_NE(r.out.find("forged ok"), std::string::npos) << name << ": " << r.out;
  }
  const auto after = cache();
  const long added = long(names.size());
  const long overflow = std::max(0L, before.value("size", 0L) + added - kCacheSize);
  EXPECT_EQ(after.value("misses", 0L), before.value("misses", 0L) + added) << after.dump();
  EXPECT_EQ(after.value("size", 0L), kCacheSize) << after.dump();
  EXPECT_EQ(after.value("evictions", 0L), before.value("evictions", 0L) + overflow) << after.dump();
  EXPECT_GE(overflow, 4);

  // The most recent name is still cached (a hit); the first one was evicted (a miss again).
  ASSERT_EQ(s_client(names.back()).exit_code, 0);
  auto hit = cache();
  EXPECT_EQ(hit.value("hits", 0L), after.value("hits", 0L) + 1) << hit.dump();
  ASSERT_EQ(s_client(names.front()).exit_code, 0);
  auto miss = cache();
  EXPECT_EQ(miss.value("misses", 0L), hit.value("misses", 0L) + 1) << miss.dump();
  EXPECT_EQ(miss.value("evictions", 0L), hit.value("evictions", 0L) + 1) << miss.dump();

  auto human = f_->cli("status");
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("evictions " + std::to_string(miss.value("evictions", 0L)) + ", size " +
                           std::to_string(kCacheSize) + "/" + std::to_string(kCacheSize)),
            std::string::npos)
      << human.out;
}

}  // namespace
}  // namespace wb::test
