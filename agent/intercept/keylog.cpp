#include "agent/intercept/keylog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wb::intercept {

namespace {

void free_keylog(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                 void* /*argp*/) {
  delete static_cast<std::shared_ptr<KeyLog>*>(ptr);
}

int keylog_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_keylog);
  return index;
}

void keylog_callback(const SSL* ssl, const char* line) {
  auto* holder = static_cast<std::shared_ptr<KeyLog>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keylog_index()));
  if (holder != nullptr && *holder) (*holder)->write_line(line);
}

}  // namespace

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
  auto* holder = new std::shared_ptr<KeyLog>(std::move(log));
  if (SSL_CTX_set_ex_data(ctx, keylog_index(), holder) != 1) {
    delete holder;
    return make_error(std::errc::not_enough_memory, "attach key log");
  }
  SSL_CTX_set_keylog_callback(ctx, &keylog_callback);
  return {};
}

}  // namespace wb::intercept
