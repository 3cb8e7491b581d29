// Creating the control socket safely: a private directory (0700, owned by us, not a symlink),
// a socket file created 0600 by the umask at bind time (no window where it is wider), and a
// stale socket left by a killed agent replaced, while a live agent's socket is never stolen.
#pragma once

#include <sys/types.h>

#include <filesystem>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::control {

struct ListenSocket {
  UniqueFd fd;    // listening, non-blocking, close-on-exec
  dev_t dev = 0;  // identity of the socket file we bound, so stop() unlinks only our own
  ino_t ino = 0;
};

// Creates the directory if missing (0700), refuses one that other users can enter or write.
Status prepare_private_dir(const std::filesystem::path& dir);

// Binds and listens on `path` (its directory is prepared first).
Result<ListenSocket> listen_control_socket(const std::filesystem::path& path, int backlog);

// Removes `path` only if it is still the socket file described by (dev, ino).
void unlink_if_ours(const std::filesystem::path& path, dev_t dev, ino_t ino);

}  // namespace wb::control
