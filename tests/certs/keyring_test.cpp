// Issuer keyrings: first-run generation with the right modes, loading, import validation, and
// that no key material ever shows up in logs or error messages.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <sstream>

#include "certs/key_pool.h"
#include "certs/keyring.h"
#include "tests/certs/test_pki.h"

namespace wb::certs {
namespace {

using test::TempDir;

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// The base64 body lines of a PEM key: any of them in a log would be a leak.
std::vector<std::string> secret_lines(const std::string& key_pem) {
  std::vector<std::string> out;
  std::istringstream in(key_pem);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("-----") && line.size() >= 16) out.push_back(line.substr(0, 16));
  }
  return out;
}

TEST(Keyring, FirstRunCreatesPrivateFilesAndReloadsTheSameCa) {
  TempDir tmp;
  auto state = tmp.path() / "var" / "lib" / "wirebump";
  auto k = Keyring::load_or_create(state, IssuerRole::trusted);
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(mode_of(state), 0700u);
  EXPECT_EQ(mode_of(state / "issuer.key"), 0600u);
  EXPECT_EQ(mode_of(state / "issuer.crt"), 0644u);
  EXPECT_EQ(k->id().size(), 16u);
  EXPECT_TRUE(EVP_PKEY_is_a(k->key(), "EC"));

  auto again = Keyring::load_or_create(state, IssuerRole::trusted);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->id(), k->id());
  EXPECT_EQ(again->cert_der(), k->cert_der());

  auto untrusted = Keyring::load_or_create(state, IssuerRole::untrusted);
  ASSERT_TRUE(untrusted.ok());
  EXPECT_NE(untrusted->id(), k->id());
  EXPECT_EQ(mode_of(state / "untrusted-issuer.key"), 0600u);

  // `ca show` data, cross-checked with the openssl command line.
  KeyringInfo info = k->info("crl.bridge.test");
  EXPECT_NE(info.subject.find("CN=wirebump issuer CA"), std::string::npos) << info.subject;
  EXPECT_EQ(info.key_type, "EC P-256");
  EXPECT_EQ(info.cert_path, (state / "issuer.crt").string());
  EXPECT_EQ(info.der_url, "http://crl.bridge.test/wirebump/ca/" + k->id() + ".crt");
  EXPECT_EQ(info.pem_url, "http://crl.bridge.test/wirebump/ca/" + k->id() + ".pem");
  EXPECT_GT(info.not_after - info.not_before, 9L * 365 * 86400);
  auto fp =
      test::openssl("x509 -noout -fingerprint -sha256 -in " + (state / "issuer.crt").string());
  EXPECT_EQ(fp.out, "sha256 Fingerprint=" + info.sha256 + "\n");
  auto text = test::openssl("x509 -noout -text -in " + (state / "issuer.crt").string());
  EXPECT_NE(text.out.find("CA:TRUE, pathlen:0"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Certificate Sign, CRL Sign"), std::string::npos) << text.out;
}

TEST(Keyring, RefusesKeyFilesOthersCanRead) {
  TempDir tmp;
  ASSERT_TRUE(Keyring::load_or_create(tmp.path(), IssuerRole::trusted).ok());
  ASSERT_EQ(chmod((tmp.path() / "issuer.key").c_str(), 0644), 0);
  auto k = Keyring::load(tmp.path(), IssuerRole::trusted);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message().find("0644"), std::string::npos) << k.error().message();
  auto missing = Keyring::load(tmp.path(), IssuerRole::untrusted);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("untrusted-issuer.crt"), std::string::npos);
}

TEST(Keyring, ImportValidatesAndNeverLeaksTheKey) {
  // Capture everything logged while importing good and bad material.
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  std::string errors;

  TempDir tmp;
  auto ca = Keyring::generate(IssuerRole::trusted).value();     // a CA made elsewhere
  auto other = Keyring::generate(IssuerRole::trusted).value();  // a different key
  test::UpstreamPki pki;
  X509Ptr leaf = pki.leaf({});
  std::string ca_key = test::key_pem_of(ca.key());
  auto write = [&](const char* name, const std::string& text) {
    test::write_text(tmp.path() / name, text);
    return tmp.path() / name;
  };
  auto cert_file = write("ca.pem", ca.cert_pem());
  auto key_file = write("ca.key", ca_key);
  auto state = tmp.path() / "state";

  auto expect_error = [&](const std::filesystem::path& c, const std::filesystem::path& k,
                          const std::string& want) {
    auto r = Keyring::import_files(state, c, k);
    ASSERT_FALSE(r.ok()) << want;
    errors += r.error().message() + "\n";
    EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
  };
  expect_error(cert_file, write("other.key", test::key_pem_of(other.key())), "does not match");
  expect_error(write("leaf.pem", test::pem_of(leaf.get())), write("leafkey.pem", ca_key),
               "does not match");  // key is checked first
  expect_error(cert_file,
               write("garbage.key", "-----BEGIN PRIVATE KEY-----\n" + ca_key.substr(40, 100) +
                                        "\n-----END PRIVATE KEY-----\n"),
               "no unencrypted PEM private key");
  expect_error(write("garbage.pem", "not a certificate"), key_file, "no PEM certificate");
  expect_error(cert_file, tmp.path() / "missing.key", "missing.key");
  auto enc = test::openssl("pkey -in " + key_file.string() + " -aes256 -passout pass:x -out " +
                           (tmp.path() / "enc.key").string());
  ASSERT_EQ(enc.exit_code, 0) << enc.out;
  expect_error(cert_file, tmp.path() / "enc.key", "encrypted keys are not supported");

  // A certificate whose key we have but which is not a CA.
  auto leaf_key = generate_key(KeyType::ec_p256).value();
  X509Ptr self(X509_new());
  X509_set_version(self.get(), X509_VERSION_3);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(self.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("not a ca"), -1, -1, 0);
  X509_set_issuer_name(self.get(), X509_get_subject_name(self.get()));
  X509_gmtime_adj(X509_getm_notBefore(self.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(self.get()), 86400);
  X509_set_pubkey(self.get(), leaf_key.get());
  X509_sign(self.get(), leaf_key.get(), EVP_sha256());
  expect_error(write("self.pem", test::pem_of(self.get())),
               write("self.key", test::key_pem_of(leaf_key.get())), "not a CA");
  EXPECT_FALSE(std::filesystem::exists(state / "issuer.key"));  // nothing written on errors

  auto ok = Keyring::import_files(state, cert_file, key_file);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->id(), ca.id());
  EXPECT_EQ(mode_of(state / "issuer.key"), 0600u);
  EXPECT_EQ(mode_of(state), 0700u);
  auto loaded = Keyring::load(state, IssuerRole::trusted);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->cert_der(), ca.cert_der());

  spdlog::set_default_logger(previous);
  for (const auto& secret : secret_lines(ca_key)) {
    EXPECT_EQ(log.str().find(secret), std::string::npos);
    EXPECT_EQ(errors.find(secret), std::string::npos) << errors;
  }
  for (const auto& secret : secret_lines(test::key_pem_of(other.key()))) {
    EXPECT_EQ(errors.find(secret), std::string::npos) << errors;
  }
}

TEST(Keyring, StateDirIsTightenedAndNonDirectoryRefused) {
  TempDir tmp;
  auto dir = tmp.path() / "loose";
  std::filesystem::create_directory(dir);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  ASSERT_TRUE(Keyring::load_or_create(dir, IssuerRole::trusted).ok());
  EXPECT_EQ(mode_of(dir), 0700u);
  test::write_text(tmp.path() / "file", "x");
  auto r = Keyring::load_or_create(tmp.path() / "file", IssuerRole::trusted);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a directory"), std::string::npos);
}

}  // namespace
}  // namespace wb::certs
