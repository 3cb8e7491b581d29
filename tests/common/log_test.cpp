#include "agent/common/log.h"

#include <gtest/gtest.h>

TEST(Log, ParsesEveryLevelAndRejectsOthers) {
  EXPECT_EQ(*wb::log::parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(*wb::log::parse_level("error"), spdlog::level::err);
  EXPECT_EQ(*wb::log::parse_level("off"), spdlog::level::off);
  auto bad = wb::log::parse_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'loud'"), std::string::npos);
}
