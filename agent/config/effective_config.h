// The configuration in effect, every key with its value (defaults included), as a TOML table the
// parser reads back to the same Config: what `wirebump config show` prints (TOML, or JSON with
// --json), so an operator sees what an omitted key means without reading the source.
#pragma once

#include <toml++/toml.h>

#include "agent/config/config.h"

namespace wb::config {

toml::table effective_config(const Config& c);

}  // namespace wb::config
