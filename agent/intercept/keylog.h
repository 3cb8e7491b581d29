// NSS key log (SSLKEYLOGFILE format) for both legs of every intercepted session, so a capture
// can be decrypted in Wireshark. The file is created 0600 (it holds session secrets) and lines
// are appended whole under a mutex, so workers never interleave.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::intercept {

class KeyLog {
 public:
  // Opens (creating 0600, appending) `path`; an existing file is tightened to 0600.
  static Result<std::shared_ptr<KeyLog>> open(const std::string& path);
  void write_line(std::string_view line);
  const std::string& path() const { return path_; }
  // Makes every connection on `ctx` write its secrets here (keeps `log` alive with the ctx).
  // Call once per context.
  static Status attach(SSL_CTX* ctx, std::shared_ptr<KeyLog> log);
  // Writes `line` to the log attached to `ctx`, if any (from the context's key-log callback,
  // TlsEndpoint::keylog_callback, which also feeds compaction).
  static void write_for(const SSL_CTX* ctx, std::string_view line);

 private:
  KeyLog(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  std::mutex mu_;
  UniqueFd fd_;
  std::string path_;
};

}  // namespace wb::intercept
