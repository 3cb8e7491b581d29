#include "agent/intercept/quiet_history.h"

namespace wb::intercept {

QuietHistory::QuietHistory(std::size_t capacity, std::uint32_t busy_streak)
    : busy_streak_(busy_streak), streaks_(capacity) {}

bool QuietHistory::should_track(const std::string& destination) {
  if (busy_streak_ == 0) return true;
  std::lock_guard lock(mu_);
  const std::uint32_t* streak = streaks_.find(destination);
  return streak == nullptr || *streak < busy_streak_;
}

void QuietHistory::went_quiet(const std::string& destination) {
  if (busy_streak_ == 0) return;
  std::lock_guard lock(mu_);
  // Forgetting the destination tracks it too, but a kept zero keeps it from being evicted
  // by destinations seen once.
  streaks_.put(destination, 0);
}

void QuietHistory::ended_busy(const std::string& destination) {
  if (busy_streak_ == 0) return;
  std::lock_guard lock(mu_);
  if (std::uint32_t* streak = streaks_.find(destination)) {
    if (*streak < busy_streak_) ++*streak;
  } else {
    streaks_.put(destination, 1);
  }
}

std::size_t QuietHistory::size() const {
  std::lock_guard lock(mu_);
  return streaks_.size();
}

}  // namespace wb::intercept
