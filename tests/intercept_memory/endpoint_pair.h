// Two TlsEndpoints on the real interception contexts, connected in memory: `client` is an
// upstream leg (client role), `server` a client leg (server role) with a leaf of a test CA. The
// tests move ciphertext like the relay does (tests/intercept/tls_pump.h).
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/intercept/tls_contexts.h"
#include "agent/intercept/tls_endpoint.h"
#include "tests/intercept/test_pki.h"
#include "tests/intercept/tls_pump.h"

namespace wb::intercept::test_pair {

using Progress = TlsEndpoint::Progress;
using Bytes = std::vector<std::uint8_t>;
using test::pump;

template <class T>
T must(Result<T> r) {
  if (!r.ok()) ADD_FAILURE() << r.error().message();
  return std::move(r).value();
}

inline Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// Everything `to` can read now.
inline std::string read_all(TlsEndpoint& to) {
  Bytes got;
  while (to.read(got) == Progress::kDone) {
  }
  return std::string(got.begin(), got.end());
}

class EndpointPair : public ::testing::Test {
 protected:
  explicit EndpointPair(bool compact_idle = false)
      : upstream_ctx(
            must(make_upstream_ctx({.trust_store = ca_file, .compact_idle = compact_idle}))),
        server_ctx(must(make_client_leg_ctx({.compact_idle = compact_idle}))) {}
  ~EndpointPair() override { std::filesystem::remove_all(dir); }

  // Both endpoints made (not yet connected): for tests that set something first.
  void make() {
    client = must(TlsEndpoint::create(upstream_ctx.get(), Role::kClient));
    server = must(TlsEndpoint::create(server_ctx.get(), Role::kServer));
    ASSERT_TRUE(configure_upstream(*client, {"www.example.test", {}, ""}).ok());
  }
  void handshake(const Bytes& staple = {}, const std::string& alpn = "") {
    ASSERT_TRUE(configure_client_leg(*server,
                                     {leaf.cert.get(), leaf.key.get(), ca.cert.get(), alpn, staple})
                    .ok());
    EXPECT_EQ(client->handshake(), Progress::kWantMore);
    pump(*client, *server);
    ASSERT_TRUE(client->handshake_done());
    ASSERT_TRUE(server->handshake_done());
  }
  void connect(const Bytes& staple = {}, bool ask_ocsp = false) {
    make();
    if (ask_ocsp) SSL_set_tlsext_status_type(client->ssl(), TLSEXT_STATUSTYPE_ocsp);
    handshake(staple);
  }

  std::string dir = test::make_temp_dir("endpoints");
  test::CertAndKey ca = test::make_ca("wirebump endpoint test root");
  test::CertAndKey leaf =
      test::make_leaf(ca, "www.example.test", {"www.example.test"}, {"192.0.2.2"});
  std::string ca_file = ca.write(dir, "ca");
  SslCtxPtr upstream_ctx;
  SslCtxPtr server_ctx;
  std::unique_ptr<TlsEndpoint> client;  // upstream leg (client role)
  std::unique_ptr<TlsEndpoint> server;  // client leg (server role)
};

}  // namespace wb::intercept::test_pair
