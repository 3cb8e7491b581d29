// The memory-BIO and SSL plumbing both in-process OpenSSL pairs (tests/tls13/openssl_pair.h for
// TLS 1.3, tests/tls12/openssl_pair12.h for TLS 1.2) drive the same way; what each counts and
// hands off stays in its own pair.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>

#include "tests/support/packet_builder.h"

namespace wb::test {

// Everything `bio` holds (what an SSL wrote to its write BIO).
Bytes drain_bio(BIO* bio);
// Writes all of `bytes` into `bio` (an SSL's read BIO); a short write is a gtest failure.
void fill_bio(BIO* bio, std::span<const std::uint8_t> bytes);
// SSL_read until it stops; `error` gets the final SSL_get_error().
Bytes ssl_read_all(SSL* ssl, int& error);
// The handoff's precondition: the SSL read every complete record it was given (no plaintext
// left, SSL_read wants more); gtest failures otherwise.
void expect_read_drained(SSL* ssl);
// SSL_write of all of `plaintext` at once.
bool ssl_write_all(SSL* ssl, std::span<const std::uint8_t> plaintext);

}  // namespace wb::test
