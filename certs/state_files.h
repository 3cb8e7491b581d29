// Files in the state directory: the directory is 0700, secrets are created 0600 (O_CREAT mode,
// never chmod-ed afterwards), written to a temporary name, fsync-ed and renamed into place.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::certs {

// Creates the directory (0700) and missing parents (0755); an existing one that group or others
// can access is tightened to 0700; a non-directory or symlink is an error.
Status ensure_private_dir(const std::filesystem::path& dir);
// Atomically replaces `path` with `content`, the file created with `mode`.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode);
// Reads a regular file (no symlinks) of at most max_bytes.
Result<std::string> read_small_file(const std::filesystem::path& path,
                                    std::size_t max_bytes = 1 << 20);
// Like read_small_file, but refuses files group/others can read: a key must stay root's.
Result<std::string> read_secret_file(const std::filesystem::path& path);

}  // namespace wb::certs
