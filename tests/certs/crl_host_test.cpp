#include <gtest/gtest.h>

#include "certs/crl_host.h"

namespace wb::certs {
namespace {

TEST(CrlHost, AcceptsHostNamesAndIpLiterals) {
  EXPECT_EQ(validate_crl_host("crl.example.com").value(), "crl.example.com");
  EXPECT_EQ(validate_crl_host("CRL.Example.COM.").value(), "crl.example.com");
  EXPECT_EQ(validate_crl_host("bridge-1").value(), "bridge-1");
  EXPECT_EQ(validate_crl_host("192.0.2.254").value(), "192.0.2.254");
  EXPECT_EQ(validate_crl_host("2001:db8::fe").value(), "[2001:db8::fe]");
  EXPECT_EQ(validate_crl_host("[2001:DB8:0::FE]").value(), "[2001:db8::fe]");
  EXPECT_EQ(validate_crl_host("::1").value(), "[::1]");
  EXPECT_EQ(validate_crl_host(std::string(63, 'a') + ".test").value(),
            std::string(63, 'a') + ".test");
}

TEST(CrlHost, RejectsWithAReasonNamingTheProblem) {
  struct Case {
    std::string host, reason;
  };
  std::string long_name;
  for (int i = 0; i < 60; ++i) long_name += "abcd.";
  long_name += "test";
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {"http://crl.example.com", "scheme"},
           {"https://crl.example.com/", "scheme"},
           {"crl.example.com/wirebump/crl", "path"},
           {"crl example.com", "whitespace"},
           {" crl.example.com", "whitespace"},
           {"crl.example.com\n", "whitespace"},
           {long_name, "longer than 253"},
           {std::string(64, 'a') + ".test", "longer than 63"},
           {"2001:db8:::1", "IPv6"},
           {"2001:db8::1::2", "IPv6"},
           {"[2001:db8::1", "']'"},
           {"[2001:db8::1]:80", "']'"},
           {"[fe80::1%eth0]", "zone"},
           {"[crl.example.com]", "IPv6"},
           {"crl.example.com:80", "port"},
           {"192.0.2.1:80", "port"},
           {"1.2.3", "IPv4"},
           {"256.1.1.1", "IPv4"},
           {"crl..example.com", "empty label"},
           {".example.com", "empty label"},
           {"-crl.example.com", "'-'"},
           {"crl_1.example.com", "'_'"},
           {"user@crl.example.com", "'@'"},
           {"crl.exämple.com", "non-ASCII"},
       }) {
    auto r = validate_crl_host(c.host);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.host;
    EXPECT_NE(r.error().message().find("crl_host"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos)
        << c.host << " -> " << r.error().message();
  }
}

TEST(CrlHost, UrlsAreExact) {
  RevocationUrls u = revocation_urls("[2001:db8::fe]", "0123456789abcdef");
  EXPECT_EQ(u.crl, "http://[2001:db8::fe]/wirebump/crl/0123456789abcdef.crl");
  EXPECT_EQ(u.ocsp, "http://[2001:db8::fe]/wirebump/ocsp");
  EXPECT_EQ(u.ca_issuers, "http://[2001:db8::fe]/wirebump/ca/0123456789abcdef.crt");
  EXPECT_EQ(u.ca_pem, "http://[2001:db8::fe]/wirebump/ca/0123456789abcdef.pem");
}

}  // namespace
}  // namespace wb::certs
