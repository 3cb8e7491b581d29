// The forged-certificate LRU (bounds, order, counters, expiry) and the key pool.
#include <gtest/gtest.h>

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "certs/cert_cache.h"
#include "certs/cert_service.h"
#include "certs/key_pool.h"
#include "tests/certs/test_pki.h"

namespace wb::certs {
namespace {

CacheKey key_n(std::uint8_t n, KeyType t = KeyType::ec_p256, IssuerRole r = IssuerRole::trusted) {
  CacheKey k{};
  k.server_sha256[0] = n;
  k.key_type = t;
  k.issuer = r;
  return k;
}

std::shared_ptr<const ForgedCert> fake(std::int64_t not_after) {
  auto f = std::make_shared<ForgedCert>();
  f->not_after = not_after;
  return f;
}

TEST(CertCache, EvictsLeastRecentlyUsedAndCounts) {
  CertCache cache(2);
  auto a = fake(1000), b = fake(1000), c = fake(1000);
  cache.insert(key_n(1), a);
  cache.insert(key_n(2), b);
  EXPECT_EQ(cache.find(key_n(1), 0), a);  // 1 is now most recent
  cache.insert(key_n(3), c);              // evicts 2
  EXPECT_EQ(cache.find(key_n(2), 0), nullptr);
  EXPECT_EQ(cache.find(key_n(1), 0), a);
  EXPECT_EQ(cache.find(key_n(3), 0), c);
  CacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.inserts, 3u);
  EXPECT_EQ(s.size, 2u);
  EXPECT_EQ(s.capacity, 2u);
  // Key type and issuer are part of the key.
  EXPECT_EQ(cache.find(key_n(1, KeyType::rsa2048), 0), nullptr);
  EXPECT_EQ(cache.find(key_n(1, KeyType::ec_p256, IssuerRole::untrusted), 0), nullptr);
  // Expired entries are never handed out.
  EXPECT_EQ(cache.find(key_n(1), 1001), nullptr);
  EXPECT_EQ(cache.stats().size, 1u);
}

TEST(CertCache, StaysBoundedUnderManyInserts) {
  CertCache cache(16);
  for (int i = 0; i < 200; ++i) cache.insert(key_n(static_cast<std::uint8_t>(i)), fake(1000));
  CacheStats s = cache.stats();
  EXPECT_EQ(s.size, 16u);
  EXPECT_EQ(s.evictions, 200u - 16u);
  for (int i = 200 - 16; i < 200; ++i) {
    EXPECT_NE(cache.find(key_n(static_cast<std::uint8_t>(i)), 0), nullptr) << i;
  }
}

TEST(CertCache, ServiceForgesOncePerServerCertificate) {
  CertConfig cfg;
  cfg.ephemeral = true;
  cfg.crl_host = "crl.bridge.test";
  cfg.cache_capacity = 2;
  cfg.rsa_pool_keys = 1;
  auto svc = std::move(CertService::open(cfg)).value();
  test::UpstreamPki pki;
  X509Ptr l1 = pki.leaf({}), l2 = pki.leaf({}), l3 = pki.leaf({});
  std::int64_t now = std::time(nullptr);
  ForgeRequest r1{l1.get(), true, {}};
  EXPECT_EQ(svc->lookup(r1, now), nullptr);
  auto a = svc->forge(r1, now).value();
  EXPECT_EQ(svc->forge(r1, now).value(), a);
  EXPECT_EQ(svc->lookup(r1, now), a);
  (void)svc->forge(ForgeRequest{l2.get(), true, {}}, now).value();
  (void)svc->forge(ForgeRequest{l3.get(), true, {}}, now).value();  // evicts l1
  EXPECT_EQ(svc->lookup(r1, now), nullptr);
  CacheStats s = svc->cache_stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 5u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.size, 2u);
}

// forge_or_queue: the event loop's way in. A hit answers at once; misses go to the worker (one
// forge per server certificate, one miss counted per call); beyond max_pending_forges the
// caller is told at once instead of queueing without bound.
TEST(ForgeOrQueue, HitsInlineMissesOnTheWorkerBounded) {
  CertConfig cfg;
  cfg.ephemeral = true;
  cfg.crl_host = "crl.bridge.test";
  cfg.max_pending_forges = 3;
  auto svc = std::move(CertService::open(cfg)).value();
  ASSERT_TRUE(svc->wait_ready(std::chrono::seconds(30)));
  test::UpstreamPki pki;
  X509Ptr l1 = pki.leaf({}), l2 = pki.leaf({});
  const std::int64_t now = std::time(nullptr);

  // Hold the worker with a job of our own so that what follows stays queued.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, blocked = false;
  svc->forge_async(ForgeRequest{l2.get(), true, {}}, now,
                   [&](Result<std::shared_ptr<const ForgedCert>>) {
                     std::unique_lock lock(mu);
                     blocked = true;
                     cv.notify_all();
                     cv.wait_for(lock, std::chrono::seconds(20), [&] { return release; });
                   });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return blocked; }));
  }
  std::vector<Result<std::shared_ptr<const ForgedCert>>> results;
  std::vector<std::thread::id> threads;
  auto collect = [&](Result<std::shared_ptr<const ForgedCert>> r) {
    std::lock_guard lock(mu);
    results.push_back(std::move(r));
    threads.push_back(std::this_thread::get_id());
    cv.notify_all();
  };
  const ForgeRequest r1{l1.get(), true, {}};
  const auto misses = svc->cache_stats().misses;
  EXPECT_EQ(svc->forge_or_queue(r1, now, collect), nullptr);
  EXPECT_EQ(svc->forge_or_queue(r1, now, collect), nullptr);
  EXPECT_EQ(svc->forge_or_queue(r1, now, collect), nullptr);
  EXPECT_EQ(svc->pending_forges(), 3u);
  EXPECT_EQ(svc->cache_stats().misses, misses + 3);
  // The bound: answered at once, on this thread, with an error.
  EXPECT_EQ(svc->forge_or_queue(r1, now, collect), nullptr);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].error().code, std::errc::resource_unavailable_try_again);
    EXPECT_EQ(threads[0], std::this_thread::get_id());
    results.clear();
    threads.clear();
    release = true;
    cv.notify_all();
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return results.size() == 3; }));
  }
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message();
    EXPECT_EQ(*results[i], *results[0]);  // forged once, the later jobs found it
    EXPECT_NE(threads[i], std::this_thread::get_id());
  }
  EXPECT_EQ(svc->cache_stats().misses,
            misses + 4);  // the refused one was a miss too; the worker's second look is not counted
  EXPECT_EQ(svc->pending_forges(), 0u);
  // Now a hit: returned at once, the callback never runs.
  bool called = false;
  EXPECT_EQ(svc->forge_or_queue(r1, now, [&](auto) { called = true; }), *results[0]);
  EXPECT_FALSE(called);
  // No certificate at all: an error at once.
  Result<std::shared_ptr<const ForgedCert>> invalid{std::shared_ptr<const ForgedCert>()};
  EXPECT_EQ(svc->forge_or_queue(ForgeRequest{}, now, [&](auto r) { invalid = std::move(r); }),
            nullptr);
  EXPECT_FALSE(invalid.ok());
}

TEST(KeyPool, GeneratesInBackgroundAndHandsOutRoundRobin) {
  KeyPool pool(2, 1);
  ASSERT_TRUE(pool.wait_ready(std::chrono::seconds(30)));
  ASSERT_TRUE(test::wait_for([&] { return pool.available(KeyType::ec_p256) == 2; }));
  auto a = pool.get(KeyType::ec_p256).value();
  auto b = pool.get(KeyType::ec_p256).value();
  auto c = pool.get(KeyType::ec_p256).value();
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(a.get(), c.get());
  auto r = pool.get(KeyType::rsa2048).value();
  EXPECT_TRUE(EVP_PKEY_is_a(r.get(), "RSA"));
  EXPECT_EQ(EVP_PKEY_get_bits(r.get()), 2048);
  EXPECT_EQ(EVP_PKEY_get_bits(a.get()), 256);
}

TEST(KeyPool, ProgressCountsUntilDone) {
  KeyPool pool(3, 2);
  const auto early = pool.progress();
  EXPECT_EQ(early.ec_wanted, 3u);
  EXPECT_EQ(early.rsa_wanted, 2u);
  EXPECT_FALSE(early.done);  // two RSA-2048 keys take far longer than this
  ASSERT_TRUE(test::wait_for([&] { return pool.progress().done; }));
  const auto done = pool.progress();
  EXPECT_EQ(done.ec, 3u);
  EXPECT_EQ(done.rsa, 2u);
}

TEST(KeyPool, EmptyPoolStillServesEcAndTimesOutRsa) {
  KeyPool pool(0, 0);
  auto ec = pool.get(KeyType::ec_p256);
  ASSERT_TRUE(ec.ok());
  EXPECT_TRUE(EVP_PKEY_is_a(ec->get(), "EC"));
  auto rsa = pool.get(KeyType::rsa2048, std::chrono::milliseconds(50));
  ASSERT_FALSE(rsa.ok());
  EXPECT_NE(rsa.error().message().find("not ready"), std::string::npos);
}

}  // namespace
}  // namespace wb::certs
