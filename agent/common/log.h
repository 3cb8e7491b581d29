// Logging setup (spdlog). Log lines name the protocol (HTTPS, SIP, SIPS, MS-TURN, ...) and never
// contain key material.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "agent/common/result.h"

namespace wb::log {

// Parses "trace|debug|info|warn|error|off".
Result<spdlog::level::level_enum> parse_level(std::string_view name);

// Logs to stderr (the journal picks it up under systemd) with a compact pattern.
void init(spdlog::level::level_enum level);

}  // namespace wb::log
