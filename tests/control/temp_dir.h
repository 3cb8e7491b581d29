// A private (0700, from mkdtemp) scratch directory removed with everything in it at scope exit;
// the control socket tests and the CLI tests put sockets and config files there.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace wb::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "wb-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wb::test
