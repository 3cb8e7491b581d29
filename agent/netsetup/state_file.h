// Small state files in the run directory (what was set up, to be undone later): written
// atomically, readable by root only.
#pragma once

#include <optional>
#include <string>

#include "agent/common/result.h"

namespace wb::netsetup {

// Writes to PATH.tmp, fsyncs, renames over PATH (mode 0600): a reader sees the old or the new
// content, never a torn one, even after a crash.
Status write_file_atomic(const std::string& path, const std::string& text);
// std::nullopt when the file does not exist. Files over 1 MiB are refused.
Result<std::optional<std::string>> read_state_file(const std::string& path);
// Missing is fine.
Status remove_state_file(const std::string& path);

}  // namespace wb::netsetup
