// Certificates and revocation through the real bridge: the agent runs (`wirebump run`) with the
// interception handler on steered 443 flows and its revocation HTTP endpoint on br0's port 80;
// nginx in the server namespace presents certificates from a test CA (the agent's trust_store)
// or a self-signed one, chosen by SNI; OpenSSL's own tools in the client namespace are the strict
// clients. One agent for the whole binary (start-up is the slow part); every test uses its own
// server name, so its own upstream certificate and forged certificate, and revoking in one test
// never touches another.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <regex>

#include "tests/agent/agent_fixture.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

const std::string kServer = "192.0.2.2:443";
const std::string kCrlHost = "192.0.2.254";  // br0's first IPv4: the default crl_host
// Server names nginx serves with a certificate from the test CA (each its own key and serial).
const std::vector<std::string> kTrustedNames = {"crl.test",    "ocsp.test",    "staple.test",
                                                "refuse.test", "ocspget.test", "keys-ec.test",
                                                "cache.test"};
const std::string kRsaName = "keys-rsa.test";  // RSA-2048 server certificate from the test CA
const std::string kUntrustedName = "untrusted.test";  // self-signed, not in the trust store

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// The first PEM certificate in `text` ("" if none).
std::string first_pem(const std::string& text) {
  const auto begin = text.find("-----BEGIN CERTIFICATE-----");
  const std::string end_marker = "-----END CERTIFICATE-----";
  const auto end = text.find(end_marker, begin);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return text.substr(begin, end + end_marker.size() - begin) + "\n";
}

// The value after `key` up to the end of its line ("" if absent).
std::string line_value(const std::string& text, const std::string& key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  return text.substr(at + key.size(), end == std::string::npos ? end : end - at - key.size());
}

// RFC 3986 percent-encoding of everything but unreserved characters (base64's '+', '/' and '='
// must not reach the server raw in an OCSP GET URL).
std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class BridgeRevocation : public ::testing::Test {
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
      // The test CA is the agent's only trust anchor for upstream certificates.
      std::ofstream(f_->config_path(), std::ios::app)
          << "trust_store = \"" << dir() << "/pki/testca.pem\"\n";
      setup_error_ = f_->start_agent();
    }
    if (setup_error_.empty()) setup_error_ = read_issuers();
  }
  static void TearDownTestSuite() { f_.reset(); }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  static std::string dir() { return f_->topo().dir(); }

  static std::string make_pki() {
    const std::string p = dir() + "/pki";
    std::string script = "set -e; mkdir -p " + p + "; cd " + p +
                         "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-days 2 -subj '/CN=wirebump e2e test CA' -keyout testca.key -out "
                         "testca.pem 2>/dev/null";
    for (const auto& name : kTrustedNames) {
      script +=
          "; openssl req -x509 -CA testca.pem -CAkey testca.key -newkey ec -pkeyopt "
          "ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" +
          name + " -addext subjectAltName=DNS:" + name + ",IP:192.0.2.2 -keyout " + name +
          ".key -out " + name + ".pem 2>/dev/null";
    }
    script +=
        "; openssl req -x509 -CA testca.pem -CAkey testca.key -newkey rsa:2048 -nodes -days 1 "
        "-subj /CN=" +
        kRsaName + " -addext subjectAltName=DNS:" + kRsaName + " -keyout " + kRsaName +
        ".key -out " + kRsaName + ".pem 2>/dev/null";
    script +=
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=" +
        kUntrustedName + " -addext subjectAltName=DNS:" + kUntrustedName + " -keyout " +
        kUntrustedName + ".key -out " + kUntrustedName + ".pem 2>/dev/null";
    auto r = run(script, 60s);
    return r.exit_code == 0 ? "" : "test PKI: " + r.err;
  }

  static std::string start_nginx() {
    const std::string d = dir();
    std::vector<std::string> names = kTrustedNames;
    names.push_back(kUntrustedName);
    names.push_back(kRsaName);
    run("mkdir -p " + d + "/www && echo 'plain port 80 upstream' > " + d + "/www/hello.txt");
    return f_->start_nginx("  log_format wb '$remote_addr \"$request\" $status';\n  access_log " +
                               d + "/access.log wb;\n  server {\n    listen 80 default_server;\n" +
                               "    root " + d + "/www;\n  }\n" + sni_server_blocks(d, names),
                           443);
  }

  // The issuers as `wirebump ca show --json` reports them; the trusted one saved as PEM from its
  // HTTP URL (how clients are told to get it).
  static std::string read_issuers() {
    auto r = f_->cli("ca show --json");
    if (r.exit_code != 0) return "ca show: " + r.out + r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j.contains("issuers") || j["issuers"].size() != 2) {
      return "ca show --json: " + r.out;
    }
    trusted_ = j["issuers"][0];
    untrusted_ = j["issuers"][1];
    issuer_pem_ = dir() + "/issuer.pem";
    untrusted_pem_ = dir() + "/untrusted-issuer.pem";
    const std::string url = trusted_.value("pem_url", "");
    if (!contains(url, "http://" + kCrlHost + "/wirebump/ca/")) return "pem_url: " + url;
    auto got = f_->client("curl -sS --max-time 10 -o " + issuer_pem_ + " " + url, 20s);
    if (got.exit_code != 0) return "curl " + url + ": " + got.err;
    run("openssl x509 -in " + shell_quote(untrusted_.value("cert_path", "")) + " -out " +
        untrusted_pem_);
    return "";
  }

  // `openssl s_client` in the client namespace towards 192.0.2.2:443 with SNI `name`. It sends
  // a real request and reads the answer: a client that hangs up right after the handshake looks
  // like one that pins its certificate, and the bridge would learn to tunnel that name.
  static CommandResult s_client(const std::string& name, const std::string& options) {
    return f_->client(
        "printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | openssl s_client -ign_eof "
        "-connect " +
            kServer + " -servername " + name + " " + options + " 2>&1",
        30s);
  }

  // The leaf certificate in s_client -showcerts output `out`, saved to DIR/forged-NAME.pem.
  static std::string save_leaf(const std::string& name, const std::string& out) {
    const std::string pem = first_pem(out);
    if (pem.empty()) return "";
    const std::string path = dir() + "/forged-" + name + ".pem";
    write_text(path, pem);
    return path;
  }

  static std::string x509(const std::string& path, const std::string& options) {
    return run("openssl x509 -in " + shell_quote(path) + " -noout " + options).out;
  }

  static CommandResult curl(const std::string& url, const std::string& options = "") {
    return f_->client("curl -sS --max-time 10 " + options + " " + shell_quote(url), 20s);
  }

  static inline std::unique_ptr<AgentFixture> f_;
  static inline std::string setup_error_;
  static inline nlohmann::json trusted_, untrusted_;
  static inline std::string issuer_pem_, untrusted_pem_;
};

TEST_F(BridgeRevocation, StrictClientDownloadsTheCrlThroughTheBridgeThenSeesTheRevocation) {
  const std::string strict =
      "-CAfile " + issuer_pem_ + " -crl_check -crl_download -verify_return_error";
  auto ok = s_client("crl.test", strict + " -showcerts");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(contains(ok.out, "Verify return code: 0 (ok)")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "plain port 80 upstream")) << ok.out;  // nginx answered

  // The forged certificate names the bridge's own CRL, which the client just fetched.
  const std::string forged = save_leaf("crl.test", ok.out);
  ASSERT_FALSE(forged.empty());
  const std::string id = trusted_.value("issuer_id", "");
  const std::string text = x509(forged, "-text");
  EXPECT_TRUE(contains(text, "URI:http://" + kCrlHost + "/wirebump/crl/" + id + ".crl")) << text;
  EXPECT_TRUE(contains(text, "OCSP - URI:http://" + kCrlHost + "/wirebump/ocsp")) << text;
  EXPECT_TRUE(contains(text, "CA Issuers - URI:http://" + kCrlHost + "/wirebump/ca/" + id + ".crt"))
      << text;

  const std::string serial = line_value(x509(forged, "-serial"), "serial=");
  ASSERT_FALSE(serial.empty());
  auto revoke = f_->cli("cert revoke " + serial);
  ASSERT_EQ(revoke.exit_code, 0) << revoke.out << revoke.err;

  auto refused = s_client("crl.test", strict);
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_TRUE(contains(refused.out, "certificate revoked")) << refused.out;
}

TEST_F(BridgeRevocation, OcspResponderAnswersGoodThenRevoked) {
  const std::string forged =
      save_leaf("ocsp.test", s_client("ocsp.test", "-showcerts -CAfile " + issuer_pem_).out);
  ASSERT_FALSE(forged.empty());
  const std::string ocsp = "openssl ocsp -issuer " + issuer_pem_ + " -cert " + forged +
                           " -CAfile " + issuer_pem_ + " -url http://" + kCrlHost +
                           "/wirebump/ocsp -timeout 10 2>&1";
  auto good = f_->client(ocsp, 30s);
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_TRUE(contains(good.out, "Response verify OK")) << good.out;
  EXPECT_TRUE(contains(good.out, forged + ": good")) << good.out;

  const std::string serial = line_value(x509(forged, "-serial"), "serial=");
  ASSERT_EQ(f_->cli("cert revoke " + serial).exit_code, 0);
  auto revoked = f_->client(ocsp, 30s);
  EXPECT_TRUE(contains(revoked.out, "Response verify OK")) << revoked.out;
  EXPECT_TRUE(contains(revoked.out, forged + ": revoked")) << revoked.out;
}

TEST_F(BridgeRevocation, StapledOcspResponseInTheForgedHandshake) {
  auto r = s_client("staple.test", "-status -CAfile " + issuer_pem_ + " -verify_return_error");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "OCSP Response Status: successful")) << r.out;
  EXPECT_TRUE(contains(r.out, "Cert Status: good")) << r.out;
  EXPECT_FALSE(contains(r.out, "OCSP response: no response sent")) << r.out;
}

TEST_F(BridgeRevocation, UntrustedUpstreamIsForgedByTheUntrustedIssuerAndRefused) {
  // Control: a trusted upstream verifies against the real issuer.
  auto trusted = s_client("refuse.test", "-CAfile " + issuer_pem_ + " -verify_return_error");
  EXPECT_EQ(trusted.exit_code, 0) << trusted.out;

  // The first connection for this name: a client trusting only the real issuer refuses it.
  auto refused =
      s_client(kUntrustedName, "-showcerts -CAfile " + issuer_pem_ + " -verify_return_error");
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_TRUE(contains(refused.out, "certificate verify failed")) << refused.out;
  EXPECT_FALSE(contains(refused.out, "plain port 80 upstream")) << refused.out;

  // What it refused was forged by the untrusted issuer (not the real self-signed certificate).
  const std::string forged = save_leaf(kUntrustedName, refused.out);
  ASSERT_FALSE(forged.empty()) << refused.out;
  EXPECT_EQ(x509(forged, "-issuer_hash"), x509(untrusted_pem_, "-subject_hash"))
      << x509(forged, "-issuer") << " vs " << untrusted_.value("subject", "?");
  auto verify_untrusted = run("openssl verify -CAfile " + untrusted_pem_ + " " + forged + " 2>&1");
  EXPECT_EQ(verify_untrusted.exit_code, 0) << verify_untrusted.out;
  EXPECT_NE(x509(forged, "-fingerprint -sha256"),
            x509(dir() + "/pki/" + kUntrustedName + ".pem", "-fingerprint -sha256"));
}

TEST_F(BridgeRevocation, IssuerCertificateServedOverHttpInBothFamilies) {
  const std::string id = trusted_.value("issuer_id", "");
  const std::string der = dir() + "/issuer.der";
  auto r = curl("http://" + kCrlHost + "/wirebump/ca/" + id + ".crt", "-o " + der);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto same = run("openssl x509 -inform DER -in " + der + " -noout -fingerprint -sha256");
  EXPECT_TRUE(contains(same.out, trusted_.value("sha256", "?"))) << same.out;

  auto v6 = curl("http://[2001:db8::fe]/wirebump/ca/" + id + ".pem");
  EXPECT_EQ(v6.exit_code, 0) << v6.err;
  EXPECT_EQ(v6.out, read_file(issuer_pem_));

  // Anything else on that address is answered (404), not dropped.
  auto other = curl("http://" + kCrlHost + "/index.html", "-o /dev/null -w '%{http_code}'");
  EXPECT_EQ(other.out, "404");
  auto unknown = curl("http://" + kCrlHost + "/wirebump/ca/0000000000000000.crt",
                      "-o /dev/null -w '%{http_code}'");
  EXPECT_EQ(unknown.out, "404");

  // Port 80 traffic through the bridge to another host is not answered by the agent.
  auto through = curl("http://192.0.2.2/hello.txt");
  EXPECT_EQ(through.exit_code, 0) << through.err;
  EXPECT_EQ(through.out, "plain port 80 upstream\n");
  EXPECT_TRUE(contains(read_file(dir() + "/access.log"), "192.0.2.1 \"GET /hello.txt"))
      << read_file(dir() + "/access.log");
}

TEST_F(BridgeRevocation, CrlRegenerateIncrementsTheCrlNumber) {
  const std::string id = trusted_.value("issuer_id", "");
  const std::string url = "http://" + kCrlHost + "/wirebump/crl/" + id + ".crl";
  auto crl_number = [&](const std::string& file) -> long {
    if (curl(url, "-o " + file).exit_code != 0) return -1;
    auto t = run("openssl crl -inform DER -in " + file + " -noout -text -CAfile " + issuer_pem_ +
                 " 2>&1");
    if (!contains(t.out, "verify OK")) return -2;
    std::smatch m;
    static const std::regex number(R"(X509v3 CRL Number:\s*\n\s*([0-9]+))");
    return std::regex_search(t.out, m, number) ? std::stol(m[1]) : -3;
  };
  const long before = crl_number(dir() + "/before.crl");
  ASSERT_GE(before, 0);
  auto regen = f_->cli("crl regenerate");
  ASSERT_EQ(regen.exit_code, 0) << regen.out << regen.err;
  const long after = crl_number(dir() + "/after.crl");
  EXPECT_EQ(after, before + 1);
}

// The forged key follows the client's signature_algorithms and mirrors the server where the
// client allows it: EC server -> EC, RSA server -> RSA, a client that verifies only RSA (or only
// ECDSA) signatures gets that key type whatever the server has. Each chain still verifies.
TEST_F(BridgeRevocation, ForgedKeyFollowsTheClientsSignatureAlgorithmsAndMirrorsTheServer) {
  struct Case {
    std::string name, sigalgs, want;
  };
  const Case cases[] = {
      {"keys-ec.test", "", "id-ecPublicKey"},
      {"keys-ec.test", "-sigalgs RSA-PSS+SHA256:RSA+SHA256", "rsaEncryption"},
      {kRsaName, "", "rsaEncryption"},
      {kRsaName, "-sigalgs ECDSA+SHA256", "id-ecPublicKey"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " " + c.sigalgs);
    auto r = s_client(c.name,
                      c.sigalgs + " -showcerts -CAfile " + issuer_pem_ + " -verify_return_error");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "plain port 80 upstream")) << r.out;
    const std::string leaf = save_leaf(c.name, r.out);
    ASSERT_FALSE(leaf.empty()) << r.out;
    const std::string text = x509(leaf, "-text");
    EXPECT_TRUE(contains(text, "Public Key Algorithm: " + c.want)) << text;
    if (c.want == "rsaEncryption") {
      EXPECT_TRUE(contains(text, "(2048 bit)")) << text;
    }
    // Forged, not passed through: signed by the bridge's issuer.
    EXPECT_EQ(x509(leaf, "-issuer_hash"), x509(issuer_pem_, "-subject_hash"));
  }
}

// OCSP over HTTP GET (RFC 6960 A.1: base64 of the DER request, URL-encoded, in the path) through
// the bridge: signed, the nonce echoed (openssl checks it and would warn otherwise), status good.
// Garbage in a POST or a GET gets a malformedRequest response, and the endpoint keeps serving.
TEST_F(BridgeRevocation, OcspOverGetEchoesTheNonceAndGarbageGetsMalformedRequest) {
  const std::string forged =
      save_leaf("ocspget.test", s_client("ocspget.test", "-showcerts -CAfile " + issuer_pem_).out);
  ASSERT_FALSE(forged.empty());
  const std::string d = dir();
  auto req = run("openssl ocsp -issuer " + issuer_pem_ + " -cert " + forged + " -reqout " + d +
                 "/get-req.der 2>&1");
  ASSERT_EQ(req.exit_code, 0) << req.out;
  const std::string b64 = run("base64 -w0 " + d + "/get-req.der").out;
  ASSERT_FALSE(b64.empty());
  const std::string base = "http://" + kCrlHost + "/wirebump/ocsp";
  auto get = curl(base + "/" + percent_encode(b64),
                  "-o " + d + "/get-resp.der -w '%{http_code} %{content_type}'");
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "200 application/ocsp-response");
  auto check = run("openssl ocsp -reqin " + d + "/get-req.der -respin " + d +
                   "/get-resp.der -CAfile " + issuer_pem_ + " -resp_text 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(contains(check.out, "Response verify OK")) << check.out;
  EXPECT_TRUE(contains(check.out, "Cert Status: good")) << check.out;
  EXPECT_TRUE(contains(check.out, "OCSP Nonce")) << check.out;
  EXPECT_FALSE(contains(check.out, "WARNING")) << check.out;  // e.g. "no nonce in response"
  auto nonce_of = [](const std::string& text) {
    const auto at = text.find("OCSP Nonce:");
    if (at == std::string::npos) return std::string();
    const auto start = text.find_first_not_of(" \n", text.find('\n', at));
    return text.substr(start, text.find('\n', start) - start);
  };
  const std::string asked =
      nonce_of(run("openssl ocsp -reqin " + d + "/get-req.der -req_text").out);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(nonce_of(check.out), asked);

  auto malformed = [&](const std::string& how, const std::string& url) {
    SCOPED_TRACE(how);
    auto r = curl(url, how + " -o " + d + "/bad-resp.der -w '%{http_code}'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "200");  // RFC 6960 errors travel as OCSP responses, not HTTP errors
    auto text = run("openssl ocsp -respin " + d + "/bad-resp.der -resp_text -noverify 2>&1");
    EXPECT_TRUE(contains(text.out, "Responder Error: malformedrequest")) << text.out;
  };
  write_text(d + "/garbage.bin", "this is not DER at all");
  malformed("-H 'Content-Type: application/ocsp-request' --data-binary @" + d + "/garbage.bin",
            base);
  malformed("", base + "/" + percent_encode("bm90IGFuIE9DU1AgcmVxdWVzdA=="));
  malformed("", base + "/%25%25not-base64");
  // Still serving: the good GET again.
  EXPECT_EQ(curl(base + "/" + percent_encode(b64), "-o /dev/null -w '%{http_code}'").out, "200");
}

// Forged certificates are cached: a new server certificate is a miss forged on the certificate
// worker (off the event loop: `forge_queued`), the same one again is a hit; `wirebump status`
// shows both, in JSON and in the human view.
TEST_F(BridgeRevocation, StatusCountsCacheMissesAndHitsAndForgesOffTheLoop) {
  auto cache = [] { return f_->status()["certs"]["cache"]; };
  auto queued = [] { return f_->status()["interception"].value("forge_queued", -1L); };
  const auto before = cache();
  const long queued_before = queued();
  ASSERT_TRUE(before.is_object()) << f_->status().dump();
  ASSERT_GE(queued_before, 0);
  EXPECT_GT(before.value("capacity", 0L), 0);

  const std::string opts = "-CAfile " + issuer_pem_ + " -verify_return_error";
  ASSERT_EQ(s_client("cache.test", opts).exit_code, 0);
  const auto after_miss = cache();
  EXPECT_EQ(after_miss.value("misses", 0L), before.value("misses", 0L) + 1) << after_miss.dump();
  EXPECT_EQ(after_miss.value("hits", 0L), before.value("hits", 0L)) << after_miss.dump();
  EXPECT_EQ(after_miss.value("size", 0L), before.value("size", 0L) + 1) << after_miss.dump();
  EXPECT_EQ(queued(), queued_before + 1);

  // Another ALPN list: not answered from the first one's speculation hint, so the forged
  // certificate is looked up again, and found.
  ASSERT_EQ(s_client("cache.test", opts + " -alpn http/1.1").exit_code, 0);
  const auto after_hit = cache();
  EXPECT_EQ(after_hit.value("hits", 0L), after_miss.value("hits", 0L) + 1) << after_hit.dump();
  EXPECT_EQ(after_hit.value("misses", 0L), after_miss.value("misses", 0L)) << after_hit.dump();
  EXPECT_EQ(queued(), queued_before + 1);  // a hit is answered inline
  // The same client again: answered from the hint (speculative handshake), the cache untouched.
  auto speculative = [] { return f_->status()["interception"].value("speculative", -1L); };
  const long speculative_before = speculative();
  ASSERT_EQ(s_client("cache.test", opts + " -alpn http/1.1").exit_code, 0);
  EXPECT_EQ(speculative(), speculative_before + 1);
  EXPECT_EQ(cache().value("hits", 0L), after_hit.value("hits", 0L));

  auto human = f_->cli("status");
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_TRUE(
      contains(human.out, "cert cache     hits " + std::to_string(after_hit.value("hits", 0L)) +
                              ", misses " + std::to_string(after_hit.value("misses", 0L)) +
                              ", evictions " + std::to_string(after_hit.value("evictions", 0L))))
      << human.out;
}

// Only port 80 of the CRL host address is the agent's: anything else addressed to it (here a
// candidate port, 443, and another one) reaches whatever listens on the bridge host, untouched.
TEST_F(BridgeRevocation, OtherPortsOnTheCrlHostAddressPassToTheBridgeHost) {
  for (const int port : {443, 8081}) {
    SCOPED_TRACE(port);
    const std::string reply = "bridge-local-" + std::to_string(port);
    f_->topo().spawn(f_->topo().bridge(),
                     "exec socat TCP-LISTEN:" + std::to_string(port) + ",bind=" + kCrlHost +
                         ",reuseaddr,fork SYSTEM:'echo " + reply + "'",
                     "socat-" + std::to_string(port));
    ASSERT_TRUE(eventually(
        [&] {
          return f_->topo()
                     .enter(f_->topo().bridge(),
                            "ss -Hltn 'sport = :" + std::to_string(port) + "' | grep -q LISTEN")
                     .exit_code == 0;
        },
        10s));
    auto r = f_->client(
        "timeout 10 socat -T5 - TCP:" + kCrlHost + ":" + std::to_string(port) + " </dev/null", 20s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, reply + "\n");
  }
  // And port 80 there is still the agent's endpoint.
  auto ca = curl("http://" + kCrlHost + "/wirebump/ca/" + trusted_.value("issuer_id", "") + ".pem");
  EXPECT_EQ(ca.out, read_file(issuer_pem_));
}

}  // namespace
}  // namespace wb::test
