#include "agent/common/lru_map.h"

#include <gtest/gtest.h>

#include <string>

namespace wb {
namespace {

TEST(LruMap, FindsWhatWasPut) {
  LruMap<std::string, int> m(4);
  EXPECT_EQ(m.find("a"), nullptr);
  EXPECT_FALSE(m.put("a", 1).has_value());
  ASSERT_NE(m.find("a"), nullptr);
  EXPECT_EQ(*m.find("a"), 1);
  EXPECT_EQ(m.size(), 1u);
}

TEST(LruMap, ReplacingReturnsTheOldValue) {
  LruMap<std::string, int> m(4);
  m.put("a", 1);
  EXPECT_EQ(m.put("a", 2), std::optional<int>(1));
  EXPECT_EQ(*m.find("a"), 2);
  EXPECT_EQ(m.size(), 1u);
}

TEST(LruMap, EvictsTheLeastRecentlyUsedBeyondCapacity) {
  LruMap<std::string, int> m(2);
  m.put("a", 1);
  m.put("b", 2);
  ASSERT_NE(m.find("a"), nullptr);                  // a is now the most recently used
  EXPECT_EQ(m.put("c", 3), std::optional<int>(2));  // so b goes
  EXPECT_EQ(m.find("b"), nullptr);
  EXPECT_NE(m.find("a"), nullptr);
  EXPECT_NE(m.find("c"), nullptr);
  EXPECT_EQ(m.size(), 2u);
}

TEST(LruMap, EraseReturnsTheValueOnce) {
  LruMap<std::string, int> m(2);
  m.put("a", 1);
  EXPECT_EQ(m.erase("a"), std::optional<int>(1));
  EXPECT_FALSE(m.erase("a").has_value());
  EXPECT_EQ(m.size(), 0u);
  m.put("b", 2);  // the index stays consistent after an erase
  EXPECT_EQ(*m.find("b"), 2);
}

TEST(LruMap, ZeroCapacityKeepsOne) {
  LruMap<int, int> m(0);
  EXPECT_EQ(m.capacity(), 1u);
  m.put(1, 1);
  EXPECT_EQ(m.put(2, 2), std::optional<int>(1));
  EXPECT_EQ(m.size(), 1u);
}

TEST(LruMap, ForEachVisitsMostRecentFirst) {
  LruMap<int, int> m(3);
  m.put(1, 10);
  m.put(2, 20);
  m.put(3, 30);
  m.find(1);
  std::string order;
  m.for_each([&](int k, int) { order += std::to_string(k); });
  EXPECT_EQ(order, "132");
}

}  // namespace
}  // namespace wb
