#include "tests/tls13/openssl_pair_common.h"

#include <gtest/gtest.h>

namespace wb::test {

Bytes drain_bio(BIO* bio) {
  Bytes out;
  std::uint8_t buf[16384];
  for (int n; (n = BIO_read(bio, buf, sizeof buf)) > 0;) out.insert(out.end(), buf, buf + n);
  return out;
}

void fill_bio(BIO* bio, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  EXPECT_EQ(BIO_write(bio, bytes.data(), static_cast<int>(bytes.size())),
            static_cast<int>(bytes.size()));
}

Bytes ssl_read_all(SSL* ssl, int& error) {
  Bytes out;
  std::uint8_t buf[16384];
  for (;;) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      error = SSL_get_error(ssl, n);
      return out;
    }
    out.insert(out.end(), buf, buf + n);
  }
}

void expect_read_drained(SSL* ssl) {
  int error = 0;
  EXPECT_TRUE(ssl_read_all(ssl, error).empty()) << "no unread data at the handoff";
  EXPECT_EQ(error, SSL_ERROR_WANT_READ);
}

bool ssl_write_all(SSL* ssl, std::span<const std::uint8_t> plaintext) {
  return SSL_write(ssl, plaintext.data(), static_cast<int>(plaintext.size())) ==
         static_cast<int>(plaintext.size());
}

}  // namespace wb::test
