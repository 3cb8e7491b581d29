#include "agent/common/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace wb {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(std::errc::invalid_argument, "value " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  WB_TRY_ASSIGN(int x, parse_positive(v));
  return 2 * x;
}

Status check(int v) {
  WB_TRY(parse_positive(v));
  return {};
}

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, std::errc::invalid_argument);
  EXPECT_EQ(bad.error().context, "value -1");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, TryPropagatesErrorsAndValues) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_EQ(doubled(0).error().context, "value 0");
  EXPECT_TRUE(check(1).ok());
  EXPECT_FALSE(check(0).ok());
}

TEST(Result, MessageAndWrapNameTheOperation) {
  Error e = errno_error(ENOENT, "open /etc/wirebump.toml");
  EXPECT_EQ(e.message(), "open /etc/wirebump.toml: No such file or directory");
  EXPECT_EQ(e.wrap("load config").message(),
            "load config: open /etc/wirebump.toml: No such file or directory");
  EXPECT_EQ((Error{std::make_error_code(std::errc::timed_out), ""}.message()),
            std::make_error_code(std::errc::timed_out).message());
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

}  // namespace
}  // namespace wb
