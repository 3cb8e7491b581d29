#include "agent/policy/learned_tunnels.h"

#include <gtest/gtest.h>

#include <thread>

namespace wb::policy {
namespace {

using namespace std::chrono_literals;

Destination dest(const char* ip, std::uint16_t port) {
  return {*IpAddress::parse(ip), port};
}

TEST(LearnedTunnels, LearnLookupExpire) {
  LearnedTunnels table(60s, 8);
  const auto t0 = Clock::now();
  const auto key = make_learned_key("Pinned.Example.", dest("192.0.2.2", 443));
  EXPECT_EQ(key.sni, "pinned.example");
  EXPECT_FALSE(table.lookup(key, t0).has_value());
  table.learn(key, LearnReason::kClientRejectedCertificate, "alert unknown_ca", t0);

  auto hit = table.lookup(make_learned_key("pinned.example", dest("192.0.2.2", 443)), t0 + 10s);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->reason, LearnReason::kClientRejectedCertificate);
  EXPECT_EQ(hit->detail, "alert unknown_ca");
  EXPECT_EQ(hit->expires, t0 + 60s);
  EXPECT_EQ(hit->hits, 1u);

  // Same name, other port or address: not learned.
  EXPECT_FALSE(
      table.lookup(make_learned_key("pinned.example", dest("192.0.2.2", 8443)), t0).has_value());
  EXPECT_FALSE(
      table.lookup(make_learned_key("pinned.example", dest("192.0.2.3", 443)), t0).has_value());
  EXPECT_FALSE(table.lookup(make_learned_key("", dest("192.0.2.2", 443)), t0).has_value());

  EXPECT_FALSE(table.lookup(key, t0 + 60s).has_value());
  EXPECT_EQ(table.size(), 0u);
}

TEST(LearnedTunnels, RelearnRefreshesExpiryAndReason) {
  LearnedTunnels table(60s, 8);
  const auto t0 = Clock::now();
  const auto key = make_learned_key("a.example", dest("192.0.2.2", 443));
  table.learn(key, LearnReason::kUpstreamHandshakeFailed, "alert handshake_failure", t0);
  table.learn(key, LearnReason::kClientCertificateRequested, "", t0 + 30s);
  auto list = table.list(t0 + 70s);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].reason, LearnReason::kClientCertificateRequested);
  EXPECT_EQ(list[0].expires, t0 + 90s);
}

TEST(LearnedTunnels, BoundedEvictsSoonestExpiry) {
  LearnedTunnels table(100s, 3);
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) {
    table.learn(make_learned_key("h" + std::to_string(i), dest("192.0.2.2", 443)),
                LearnReason::kUpstreamHandshakeFailed, "", t0 + std::chrono::seconds(i));
  }
  table.learn(make_learned_key("h3", dest("192.0.2.2", 443)), LearnReason::kUpstreamHandshakeFailed,
              "", t0 + 5s);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.evictions(), 1u);
  EXPECT_FALSE(table.lookup(make_learned_key("h0", dest("192.0.2.2", 443)), t0 + 6s).has_value());
  EXPECT_TRUE(table.lookup(make_learned_key("h3", dest("192.0.2.2", 443)), t0 + 6s).has_value());

  // An expired entry makes room without counting as an eviction.
  table.learn(make_learned_key("h4", dest("192.0.2.2", 443)), LearnReason::kUpstreamHandshakeFailed,
              "", t0 + 101s);
  EXPECT_EQ(table.evictions(), 1u);
}

TEST(LearnedTunnels, ListSortedFlushAndFlushIf) {
  LearnedTunnels table(100s, 16);
  const auto t0 = Clock::now();
  table.learn(make_learned_key("b", dest("192.0.2.2", 443)), LearnReason::kDetectionOff,
              "detection off: sips", t0 + 5s);
  table.learn(make_learned_key("a", dest("192.0.2.2", 443)), LearnReason::kDetectionOff,
              "detection off: sip", t0);
  table.learn(make_learned_key("c", dest("192.0.2.2", 443)),
              LearnReason::kClientClosedAfterHandshake, "", t0 + 1s);
  auto list = table.list(t0);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].key.sni, "a");
  EXPECT_EQ(list[1].key.sni, "c");
  EXPECT_EQ(list[2].key.sni, "b");
  // "detection off: sip" must not also remove "detection off: sips".
  EXPECT_EQ(table.flush_if(LearnReason::kDetectionOff, "detection off: sip"), 1u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.flush(), 2u);
  EXPECT_TRUE(table.list(t0).empty());
}

TEST(LearnedTunnels, ConcurrentLearnAndLookupStayBounded) {
  LearnedTunnels table(100s, 64);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&table, t0, t] {
      for (int i = 0; i < 500; ++i) {
        const auto key =
            make_learned_key("h" + std::to_string(t * 1000 + i), dest("192.0.2.2", 443));
        table.learn(key, LearnReason::kUpstreamHandshakeFailed, "",
                    t0 + std::chrono::milliseconds(i));
        (void)table.lookup(key, t0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), 64u);
  EXPECT_EQ(table.evictions(), 4u * 500u - 64u);
}

}  // namespace
}  // namespace wb::policy
