#include "agent/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <array>
#include <utility>

namespace wb::log {

Result<spdlog::level::level_enum> parse_level(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 6> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  }};
  for (const auto& [text, level] : kLevels) {
    if (text == name) return level;
  }
  return make_error(std::errc::invalid_argument,
                    "log level '" + std::string(name) +
                        "' (expected trace, debug, info, warn, error or off)");
}

void init(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("wirebump");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace wb::log
