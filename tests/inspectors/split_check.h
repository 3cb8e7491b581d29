// Truncation and chunking checks shared by the parser tests: a stream parser must give the same
// result whatever the chunking (one read, any 2-way split, byte by byte), and any prefix must
// give "need more" for the unfinished unit, never a wrong result or an error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wb::test {

// A run of a parser over a list of chunks: what it reported, and whether it failed.
struct RunResult {
  std::vector<std::string> events;
  bool failed = false;
  bool operator==(const RunResult&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  os << (r.failed ? "[failed] " : "") << r.events.size() << " events";
  for (const auto& e : r.events) os << "\n  " << e;
  return os;
}

// `Run` is callable as RunResult(const std::vector<std::span<const uint8_t>>& chunks).
// `stride` > 1 checks every stride-th split point (plus the first and last 64) for big samples.
template <class Run>
void expect_chunking_invariant(const std::vector<std::uint8_t>& data, Run run,
                               std::size_t stride = 1) {
  using Span = std::span<const std::uint8_t>;
  const Span all(data.data(), data.size());
  const RunResult whole = run(std::vector<Span>{all});
  auto wanted = [&](std::size_t p) {
    return stride == 1 || p % stride == 0 || p < 64 || p + 64 > data.size();
  };
  for (std::size_t p = 0; p <= data.size(); ++p) {
    if (!wanted(p)) continue;
    // Prefix alone: reports a prefix of the events and does not fail (unless the whole does).
    RunResult prefix = run(std::vector<Span>{all.first(p)});
    if (!whole.failed) {
      ASSERT_FALSE(prefix.failed) << "prefix of " << p << " bytes failed";
    }
    ASSERT_LE(prefix.events.size(), whole.events.size()) << "prefix " << p;
    for (std::size_t i = 0; i < prefix.events.size() && !prefix.failed; ++i) {
      ASSERT_EQ(prefix.events[i], whole.events[i]) << "prefix " << p;
    }
    // Two chunks: the same final result.
    RunResult split = run(std::vector<Span>{all.first(p), all.subspan(p)});
    ASSERT_EQ(split, whole) << "split at " << p;
  }
  if (stride == 1 && data.size() < 20000) {
    std::vector<Span> bytes;
    for (std::size_t i = 0; i < data.size(); ++i) bytes.push_back(all.subspan(i, 1));
    EXPECT_EQ(run(bytes), whole) << "byte by byte";
  }
}

}  // namespace wb::test
