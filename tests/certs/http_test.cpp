// The revocation endpoints: routing, framing, and every truncation of every request.
#include <gtest/gtest.h>

#include <ctime>

#include "certs/cert_service.h"
#include "certs/http_handler.h"
#include "tests/certs/test_pki.h"

namespace wb::certs {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Response {
  int status = 0;
  std::string head, body;
  std::string header(const std::string& name) const {
    auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
  }
};

Response split(const HttpOutcome& out) {
  Response r;
  r.status = out.status;
  auto end = out.response.find("\r\n\r\n");
  r.head = out.response.substr(0, end + 2);
  r.body = out.response.substr(end + 4);
  return r;
}

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    CertConfig cfg;
    cfg.ephemeral = true;
    cfg.crl_host = "crl.bridge.test";
    cfg.rsa_pool_keys = 1;
    svc_ = CertService::open(cfg).value().release();
    pki_ = new test::UpstreamPki();
    leaf_ = pki_->leaf({}).release();
    forged_ = new std::shared_ptr<const ForgedCert>(
        svc_->forge(ForgeRequest{leaf_, true, {}}, std::time(nullptr)).value());
  }
  static void TearDownTestSuite() {
    delete forged_;
    X509_free(leaf_);
    delete pki_;
    delete svc_;
  }
  Response get(const std::string& request) {
    HttpOutcome out = handle_http(bytes_of(request), *svc_, std::time(nullptr));
    EXPECT_FALSE(out.need_more) << request;
    Response r = split(out);
    if (!request.starts_with("HEAD")) {
      EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
    }
    EXPECT_EQ(r.header("Connection"), "close");
    return r;
  }
  std::string id() { return svc_->issuer(IssuerRole::trusted).id(); }
  Bytes ocsp_request() {
    OcspRequestPtr req(OCSP_REQUEST_new());
    OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), (*forged_)->cert.get(),
                                                    svc_->issuer(IssuerRole::trusted).cert()));
    OCSP_request_add1_nonce(req.get(), nullptr, -1);
    int len = i2d_OCSP_REQUEST(req.get(), nullptr);
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_OCSP_REQUEST(req.get(), &p);
    return der;
  }
  static int ocsp_cert_status(const std::string& body) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(body.data());
    OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(body.size())));
    if (!resp || OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) return -1;
    OcspBasicRespPtr bs(OCSP_response_get1_basic(resp.get()));
    return OCSP_single_get0_status(OCSP_resp_get0(bs.get(), 0), nullptr, nullptr, nullptr, nullptr);
  }
  std::string post_ocsp() {
    Bytes der = ocsp_request();
    return "POST /wirebump/ocsp HTTP/1.1\r\nHost: crl.bridge.test\r\nContent-Type: "
           "application/ocsp-request\r\nContent-Length: " +
           std::to_string(der.size()) + "\r\n\r\n" + std::string(der.begin(), der.end());
  }

  static CertService* svc_;
  static test::UpstreamPki* pki_;
  static X509* leaf_;
  static std::shared_ptr<const ForgedCert>* forged_;
};
CertService* HttpTest::svc_ = nullptr;
test::UpstreamPki* HttpTest::pki_ = nullptr;
X509* HttpTest::leaf_ = nullptr;
std::shared_ptr<const ForgedCert>* HttpTest::forged_ = nullptr;

TEST_F(HttpTest, ServesCrlCertificatesAndOcsp) {
  Response crl =
      get("GET /wirebump/crl/" + id() + ".crl HTTP/1.1\r\nHost: crl.bridge.test\r\n\r\n");
  EXPECT_EQ(crl.status, 200);
  EXPECT_TRUE(crl.head.starts_with("HTTP/1.1 200 OK\r\n")) << crl.head;
  EXPECT_EQ(crl.header("Content-Type"), "application/pkix-crl");
  auto der = svc_->crl_der(id());
  EXPECT_EQ(crl.body, std::string(der->begin(), der->end()));

  Response crt = get("GET /wirebump/ca/" + id() + ".crt HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(crt.head.starts_with("HTTP/1.0 200 OK\r\n")) << crt.head;
  EXPECT_EQ(crt.header("Content-Type"), "application/pkix-cert");
  const Bytes& ca = svc_->issuer(IssuerRole::trusted).cert_der();
  EXPECT_EQ(crt.body, std::string(ca.begin(), ca.end()));

  Response pem = get("GET /wirebump/ca/" + id() + ".pem HTTP/1.1\n\n");  // bare LF tolerated
  EXPECT_EQ(pem.header("Content-Type"), "application/x-pem-file");
  EXPECT_EQ(pem.body, svc_->issuer(IssuerRole::trusted).cert_pem());

  Response head = get("HEAD /wirebump/ca/" + id() + ".pem HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());

  Response post = get(post_ocsp());
  EXPECT_EQ(post.header("Content-Type"), "application/ocsp-response");
  EXPECT_EQ(ocsp_cert_status(post.body), V_OCSP_CERTSTATUS_GOOD);

  // RFC 6960 A.1 GET: url-encoded base64, and the raw '/' '+' some clients send.
  Bytes req = ocsp_request();
  std::string b64 = base64_encode(req), encoded;
  for (char c : b64)
    encoded += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  EXPECT_EQ(ocsp_cert_status(get("GET /wirebump/ocsp/" + encoded + " HTTP/1.1\r\n\r\n").body),
            V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(ocsp_cert_status(get("GET /wirebump/ocsp/" + b64 + " HTTP/1.1\r\n\r\n").body),
            V_OCSP_CERTSTATUS_GOOD);
  // Undecodable GET request: an OCSP malformedRequest, not an HTTP error.
  Response bad = get("GET /wirebump/ocsp/!!!notbase64 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(bad.status, 200);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bad.body.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(bad.body.size())));
  ASSERT_TRUE(resp);
  EXPECT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_F(HttpTest, ErrorsAreClear) {
  Response unknown = get("GET /wirebump/crl/00000000deadbeef.crl HTTP/1.1\r\n\r\n");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no CRL for issuer 00000000deadbeef"), std::string::npos);
  EXPECT_EQ(get("GET / HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(get("GET /wirebump/crl/../../etc/passwd HTTP/1.1\r\n\r\n").status, 404);
  Response del = get("DELETE /wirebump/crl/" + id() + ".crl HTTP/1.1\r\n\r\n");
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.header("Allow"), "GET, HEAD");
  EXPECT_EQ(get("PUT /wirebump/ocsp HTTP/1.1\r\n\r\n").status, 405);
  EXPECT_EQ(get("GET /wirebump/ocsp HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(
      get("POST /wirebump/ocsp HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx")
          .status,
      415);
  EXPECT_EQ(get("GET / HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(get("GET / FOO/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(get("GET noslash HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(get("POST /wirebump/ocsp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status, 501);
  EXPECT_EQ(get("POST /wirebump/ocsp HTTP/1.1\r\nContent-Length: 99999\r\n\r\n").status, 413);
  EXPECT_EQ(
      get("POST /wirebump/ocsp HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").status,
      400);
  EXPECT_EQ(get("POST /wirebump/ocsp HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status, 400);
  EXPECT_EQ(get("GET / HTTP/1.1\r\nbad header\r\n\r\n").status, 400);
  // TLS sent to port 80 is refused at once.
  EXPECT_EQ(get(std::string("\x16\x03\x01\x02\x00\x01", 6)).status, 400);
  EXPECT_EQ(get("GET /" + std::string(kMaxHttpHeaderBytes, 'a')).status, 431);
  // Absolute-form target.
  EXPECT_EQ(get("GET http://crl.bridge.test/wirebump/ca/" + id() + ".crt HTTP/1.1\r\n\r\n").status,
            200);
}

TEST_F(HttpTest, EveryTruncationNeedsMoreOrErrorsNeverAnswersWrong) {
  std::vector<std::string> requests = {
      "GET /wirebump/crl/" + id() + ".crl HTTP/1.1\r\nHost: crl.bridge.test\r\n\r\n",
      "GET /wirebump/ca/" + id() + ".pem HTTP/1.0\n\n",
      post_ocsp(),
      "DELETE /x HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nbad header\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
  };
  for (const auto& full : requests) {
    HttpOutcome whole = handle_http(bytes_of(full), *svc_, std::time(nullptr));
    ASSERT_FALSE(whole.need_more) << full;
    for (std::size_t n = 0; n < full.size(); ++n) {
      HttpOutcome part = handle_http(bytes_of(full).first(n), *svc_, std::time(nullptr));
      if (part.need_more) continue;
      // Anything answered early must be an error, never a (wrong) success.
      ASSERT_GE(part.status, 400) << "prefix " << n << " of " << full;
      EXPECT_EQ(part.status, whole.status) << "prefix " << n;
    }
  }
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::size_t n = 0; n < 40; ++n) {
    Bytes data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 37 + n);
    EXPECT_EQ(base64_decode(base64_encode(data)).value(), data) << n;
  }
  EXPECT_EQ(base64_encode(bytes_of("foob")), "Zm9vYg==");
  EXPECT_FALSE(base64_decode("a").has_value());
  EXPECT_FALSE(base64_decode("ab$d").has_value());
  EXPECT_EQ(percent_decode("a%2Fb%3d").value(), "a/b=");
  EXPECT_FALSE(percent_decode("%2").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
}

}  // namespace
}  // namespace wb::certs
