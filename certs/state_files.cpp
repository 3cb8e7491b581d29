#include "certs/state_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "agent/common/unique_fd.h"

namespace wb::certs {

Status ensure_private_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("stat state dir " + dir.string());
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return Error{ec, "create parents of state dir " + dir.string()};
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_error("create state dir " + dir.string());
    }
    if (lstat(dir.c_str(), &st) != 0) return errno_error("stat state dir " + dir.string());
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(std::errc::not_a_directory,
                      "state dir " + dir.string() + " is not a directory (or is a symlink)");
  }
  if ((st.st_mode & 077) != 0 && chmod(dir.c_str(), 0700) != 0) {
    return errno_error("restrict state dir " + dir.string() + " to 0700");
  }
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  unlink(tmp.c_str());  // a leftover from a crash; O_EXCL below refuses anything else
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return errno_error("create " + tmp.string());
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = errno_error("write " + tmp.string());
      unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd.get()) != 0) {
    Error e = errno_error("fsync " + tmp.string());
    unlink(tmp.c_str());
    return e;
  }
  fd.reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename into " + path.string());
    unlink(tmp.c_str());
    return e;
  }
  return {};
}

namespace {
Result<std::string> read_fd(const UniqueFd& fd, const std::filesystem::path& path,
                            std::size_t max_bytes) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      return make_error(std::errc::file_too_large, path.string() + " is larger than expected");
    }
  }
  return out;
}

Result<UniqueFd> open_regular(const std::filesystem::path& path, struct stat& st) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open " + path.string());
  if (fstat(fd.get(), &st) != 0) return errno_error("stat " + path.string());
  if (!S_ISREG(st.st_mode)) {
    return make_error(std::errc::invalid_argument, path.string() + " is not a regular file");
  }
  return fd;
}
}  // namespace

Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
  struct stat st {};
  WB_TRY_ASSIGN(UniqueFd fd, open_regular(path, st));
  return read_fd(fd, path, max_bytes);
}

Result<std::string> read_secret_file(const std::filesystem::path& path) {
  struct stat st {};
  WB_TRY_ASSIGN(UniqueFd fd, open_regular(path, st));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(std::errc::permission_denied, "key file " + path.string() +
                                                        " is accessible by group/others (mode " +
                                                        mode + "); it must be 0600");
  }
  return read_fd(fd, path, 1 << 20);
}

}  // namespace wb::certs
