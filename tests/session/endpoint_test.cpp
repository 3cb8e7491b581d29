// Endpoint: the socket address every session carries (several times: session table entry, relay
// slot, handler), held in 28 bytes for both families. Parsing, conversion from and to kernel
// sockaddrs, ports, printing and equality.
#include "agent/session/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace wb::session {
namespace {

// Equality compares the bytes, so an endpoint must start all zero, whatever memory it is
// built in: `{}` on a union initialises only its first member (fuzz_endpoint found an IPv6
// endpoint whose scope id was left over from the stack, unequal to itself parsed again).
TEST(Endpoint, StartsAllZeroInDirtyMemory) {
  alignas(Endpoint) unsigned char buffer[sizeof(Endpoint)];
  std::memset(buffer, 0xA5, sizeof(buffer));
  auto* e = new (buffer) Endpoint();
  for (std::size_t i = 0; i < sizeof(buffer); ++i) EXPECT_EQ(buffer[i], 0) << "byte " << i;
  e->~Endpoint();

  auto a = Endpoint::parse("ee:5e:5:5e:::5");  // the fuzzer's input: [ee:5e:5:5e::]:5
  ASSERT_TRUE(a.ok());
  auto b = Endpoint::parse(a->to_string());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(Endpoint, HoldsEitherFamilyInASockaddrIn6) {
  static_assert(sizeof(Endpoint) <= sizeof(sockaddr_in6));
  EXPECT_TRUE(Endpoint().empty());
  EXPECT_EQ(Endpoint().length(), 0u);
  EXPECT_EQ(Endpoint().port(), 0);
}

TEST(Endpoint, ParsesAndPrintsBothFamilies) {
  const auto v4 = Endpoint::parse("192.0.2.1:40000").value();
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_FALSE(v4.is_v6());
  EXPECT_EQ(v4.port(), 40000);
  EXPECT_EQ(v4.length(), sizeof(sockaddr_in));
  EXPECT_EQ(v4.to_string(), "192.0.2.1:40000");
  EXPECT_EQ(v4.address_string(), "192.0.2.1");

  const auto v6 = Endpoint::parse("[2001:db8::1]:443").value();
  EXPECT_TRUE(v6.is_v6());
  EXPECT_EQ(v6.port(), 443);
  EXPECT_EQ(v6.length(), sizeof(sockaddr_in6));
  EXPECT_EQ(v6.to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(v6.address_string(), "2001:db8::1");

  for (const char* bad : {"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "[2001:db8::1]443",
                          "[2001:db8::1", "host:80", "192.0.2.1:8x"}) {
    EXPECT_FALSE(Endpoint::parse(bad).ok()) << bad;
  }
}

TEST(Endpoint, RoundTripsKernelSockaddrs) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(5061);
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::2", &in6.sin6_addr), 1);
  const auto v6 = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
  EXPECT_EQ(v6.to_string(), "[2001:db8::2]:5061");
  ASSERT_EQ(v6.length(), sizeof in6);
  EXPECT_EQ(std::memcmp(v6.sockaddr_ptr(), &in6, sizeof in6), 0);

  sockaddr_in in4{};
  in4.sin_family = AF_INET;
  in4.sin_port = htons(443);
  in4.sin_addr.s_addr = htonl(0xc0000202);  // 192.0.2.2
  const auto v4 = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&in4), sizeof in4);
  EXPECT_EQ(v4.to_string(), "192.0.2.2:443");
  EXPECT_EQ(std::memcmp(v4.sockaddr_ptr(), &in4, sizeof in4), 0);

  // Too short for its family, another family, or none: empty.
  EXPECT_TRUE(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&in6), sizeof in4).empty());
  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_TRUE(Endpoint::from_sockaddr(&other, sizeof other).empty());
  EXPECT_TRUE(Endpoint::from_sockaddr(nullptr, 0).empty());
}

TEST(Endpoint, PortsAndEquality) {
  const auto a = Endpoint::parse("192.0.2.1:40000").value();
  EXPECT_EQ(a, Endpoint::parse("192.0.2.1:40000").value());
  EXPECT_FALSE(a == a.with_port(40001));
  EXPECT_EQ(a.with_port(0).to_string(), "192.0.2.1:0");
  EXPECT_EQ(Endpoint::loopback_v4(8080).to_string(), "127.0.0.1:8080");
  const auto b = Endpoint::parse("[2001:db8::1]:40000").value();
  EXPECT_FALSE(a == b);
  EXPECT_EQ(b.with_port(1).to_string(), "[2001:db8::1]:1");
  EXPECT_EQ(b, Endpoint::parse("[2001:db8:0::1]:40000").value());
  // A v4-mapped v6 address is another endpoint than the v4 one (different family).
  EXPECT_FALSE(a == Endpoint::parse("[::ffff:192.0.2.1]:40000").value());
}

}  // namespace
}  // namespace wb::session
