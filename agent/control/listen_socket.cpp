#include "agent/control/listen_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace wb::control {
namespace {

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.empty() || text.size() >= sizeof(addr.sun_path)) {
    return make_error(std::errc::filename_too_long,
                      "control socket path '" + text + "' must be 1.." +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  return addr;
}

// A socket file exists at path: is an agent answering on it?
bool someone_listens(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

Status prepare_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return errno_error("create control directory " + dir.string());
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return errno_error("stat control directory " + dir.string());
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return make_error(std::errc::not_a_directory, "control directory " + dir.string() +
                                                      " is not a directory (or is a symlink)");
  }
  if (st.st_uid != ::geteuid()) {
    return make_error(std::errc::permission_denied,
                      "control directory " + dir.string() + " belongs to uid " +
                          std::to_string(st.st_uid) + ", not to us (uid " +
                          std::to_string(::geteuid()) + ")");
  }
  // Never chmod an existing directory: run_dir = "/tmp" by mistake must not lock out everyone.
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(std::errc::permission_denied,
                      "control directory " + dir.string() + " has mode " + mode +
                          "; it must be private (0700) so only root reaches the socket");
  }
  return {};
}

Result<ListenSocket> listen_control_socket(const std::filesystem::path& path, int backlog) {
  WB_TRY_ASSIGN(auto addr, unix_address(path));
  WB_TRY(prepare_private_dir(path.parent_path().empty() ? "." : path.parent_path()));

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(std::errc::file_exists,
                        path.string() + " exists and is not a socket; not removing it");
    }
    if (someone_listens(addr)) {
      return make_error(std::errc::address_in_use,
                        "another agent is already serving the control socket " + path.string());
    }
    // Left behind by an agent that was killed: replace it.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return errno_error("remove stale control socket " + path.string());
    }
  }

  ListenSocket ls;
  ls.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!ls.fd) return errno_error("create control socket");
  // The socket file gets its mode from the umask at bind time; chmod afterwards would leave a
  // window in which a non-root process could connect. umask is process-wide, but nothing else
  // creates files while the agent starts its control thread, and it is restored at once.
  mode_t old = ::umask(0177);
  int rc = ::bind(ls.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  ::umask(old);
  if (rc != 0) return errno_error(bind_errno, "bind control socket " + path.string());
  if (::listen(ls.fd.get(), backlog) != 0) return errno_error("listen on " + path.string());
  if (::lstat(path.c_str(), &st) != 0) return errno_error("stat " + path.string());
  ls.dev = st.st_dev;
  ls.ino = st.st_ino;
  return ls;
}

void unlink_if_ours(const std::filesystem::path& path, dev_t dev, ino_t ino) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
    ::unlink(path.c_str());
  }
}

}  // namespace wb::control
