// QuietHistory (agent/intercept/quiet_history.h): which destinations' sessions skip compaction's
// tracking. The same on the real relay: CompactionE2E.BusyDestinationSkipsTracking...
#include "agent/intercept/quiet_history.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace wb::intercept {
namespace {

TEST(QuietHistory, UnknownDestinationIsTracked) {
  QuietHistory h(8, 3);
  EXPECT_TRUE(h.should_track("a|192.0.2.1:443"));
  EXPECT_EQ(h.size(), 0u);  // asking remembers nothing
}

TEST(QuietHistory, SkipsAfterTheStreakOfBusySessionsOnly) {
  QuietHistory h(8, 3);
  for (int i = 0; i < 2; ++i) h.ended_busy("a");
  EXPECT_TRUE(h.should_track("a"));
  h.ended_busy("a");
  EXPECT_FALSE(h.should_track("a"));
  EXPECT_TRUE(h.should_track("b"));  // per destination
  for (int i = 0; i < 100; ++i) h.ended_busy("a");
  EXPECT_FALSE(h.should_track("a"));
}

TEST(QuietHistory, ASessionGoingQuietBringsTrackingBackAndRestartsTheStreak) {
  QuietHistory h(8, 3);
  for (int i = 0; i < 50; ++i) h.ended_busy("a");  // saturates, does not overflow
  ASSERT_FALSE(h.should_track("a"));
  h.went_quiet("a");
  EXPECT_TRUE(h.should_track("a"));
  h.ended_busy("a");
  h.ended_busy("a");
  EXPECT_TRUE(h.should_track("a"));  // a full streak again, not one session
  h.ended_busy("a");
  EXPECT_FALSE(h.should_track("a"));
}

TEST(QuietHistory, ZeroStreakTracksEverySessionAndKeepsNothing) {
  QuietHistory h(8, 0);
  for (int i = 0; i < 10; ++i) h.ended_busy("a");
  h.went_quiet("b");
  EXPECT_TRUE(h.should_track("a"));
  EXPECT_EQ(h.size(), 0u);
}

TEST(QuietHistory, BoundedEvictingTheLeastRecentlyUsed) {
  QuietHistory h(2, 1);
  h.ended_busy("a");
  h.ended_busy("b");
  EXPECT_FALSE(h.should_track("a"));  // "a" now the most recent
  h.ended_busy("c");                  // evicts "b"
  EXPECT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.should_track("b"));  // forgotten: tracked again
  EXPECT_FALSE(h.should_track("a"));
  EXPECT_FALSE(h.should_track("c"));
}

TEST(QuietHistory, WorkersShareIt) {
  QuietHistory h(64, 1000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 250; ++i) {
        h.ended_busy("shared");
        h.should_track("own" + std::to_string(t));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(h.should_track("shared"));  // exactly 4 x 250 = 1000 counted
  EXPECT_EQ(h.size(), 1u);
}

}  // namespace
}  // namespace wb::intercept
