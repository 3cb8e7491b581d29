#include "agent/intercept/keylog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/intercept/ossl_types.h"
#include "agent/intercept/tls_endpoint.h"

namespace wb::intercept {

Result<std::shared_ptr<KeyLog>> KeyLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error("open key log " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat key log " + path);
  if (!S_ISREG(st.st_mode)) {
    return make_error(std::errc::invalid_argument, "key log " + path + " is not a regular file");
  }
  // An existing file with wider permissions is tightened rather than trusted: it will hold secrets.
  if ((st.st_mode & 0077) != 0 && ::fchmod(fd.get(), 0600) != 0) {
    return errno_error("chmod 0600 key log " + path);
  }
  return std::shared_ptr<KeyLog>(new KeyLog(std::move(fd), path));
}

void KeyLog::write_line(std::string_view line) {
  std::string buf(line);
  buf += '\n';
  std::lock_guard lock(mu_);
  std::string_view rest = buf;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk loses key lines, never a connection
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

Status KeyLog::attach(SSL_CTX* ctx, std::shared_ptr<KeyLog> log) {
  if (!keep_with_ctx(ctx, std::move(log))) {
    return make_error(std::errc::not_enough_memory, "attach key log");
  }
  SSL_CTX_set_keylog_callback(ctx, &TlsEndpoint::keylog_callback);
  return {};
}

void KeyLog::write_for(const SSL_CTX* ctx, std::string_view line) {
  if (auto* log = kept_with_ctx<KeyLog>(ctx)) log->write_line(line);
}

}  // namespace wb::intercept
