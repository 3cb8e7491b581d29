// Test fixtures for the certificates tests: an "upstream" CA with leaf certificates shaped like
// real servers' (names, key types, usages), scratch directories, and the openssl command line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "certs/ossl.h"
#include "tests/support/process.h"

namespace wb::certs::test {

struct LeafSpec {
  std::string cn = "www.example.test";
  std::vector<std::string> dns = {"www.example.test", "example.test"};
  std::vector<std::string> ips;  // "192.0.2.2", "2001:db8::2"
  bool rsa = false;
  std::int64_t not_before_offset = -3600;      // relative to now
  std::int64_t not_after_offset = 90 * 86400;  // relative to now
  std::string key_usage = "critical,digitalSignature";
  std::string ext_key_usage = "serverAuth";  // "" = none
};

// An upstream CA (like a public CA the real servers use) that signs leaves.
class UpstreamPki {
 public:
  UpstreamPki();
  X509Ptr leaf(const LeafSpec& spec) const;
  X509* ca() const { return ca_.get(); }

 private:
  EvpPkeyPtr ca_key_, leaf_ec_, leaf_rsa_;
  X509Ptr ca_;
};

// A fresh directory under the test binary's dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& p, const std::string& text);
void write_bytes(const std::filesystem::path& p, const Bytes& bytes);
std::string pem_of(X509* cert);
std::string key_pem_of(EVP_PKEY* key);
// Runs `openssl <args>`; stdout+stderr combined in .out.
wb::test::CommandResult openssl(const std::string& args);

}  // namespace wb::certs::test

namespace wb::certs::test {
// Polls pred every 10 ms for up to 30 s.
template <class Pred>
bool wait_for(Pred pred) {
  for (int i = 0; i < 3000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}
}  // namespace wb::certs::test
