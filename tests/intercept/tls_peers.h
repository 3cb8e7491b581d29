// Blocking TLS peers for tests and benchmarks of the interception path, on real sockets:
//   SniTlsServer  a TLS server whose certificate is made per SNI (signed by a test CA), so every
//                 distinct name is a distinct server certificate: a cold forged-certificate
//                 cache for the bridge. Speaks HTTP/1.1 keep-alive: every request gets "ok".
//   TlsClient     connects, handshakes with an SNI against one trusted issuer, sends requests.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/common/unique_fd.h"
#include "agent/intercept/ossl_types.h"
#include "agent/session/endpoint.h"
#include "certs/cert_service.h"
#include "tests/intercept/test_pki.h"
#include "tests/relay/peers.h"

namespace wb::test {

class SniTlsServer {
 public:
  explicit SniTlsServer(const CertAndKey& ca);
  ~SniTlsServer();
  const session::Endpoint& address() const { return server_->address(); }
  // Distinct server certificates made so far (one per SNI).
  std::size_t certificates() const;

 private:
  static int on_servername(SSL* ssl, int* alert, void* self);
  void serve(int fd);
  const CertAndKey& ca_;
  intercept::SslCtxPtr ctx_;
  mutable std::mutex mu_;
  std::map<std::string, CertAndKey> by_name_;
  std::unique_ptr<TestServer> server_;  // last: its threads use everything above
};

class TlsClient {
 public:
  // Connects to `to` and completes a TLS handshake with `sni`, verifying the chain against
  // `trusted` (PEM file) and the name. Every read and write is bounded by `timeout`.
  TlsClient(const session::Endpoint& to, const std::string& sni, const std::string& trusted,
            std::chrono::milliseconds timeout);
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // The subject CN of the certificate the client was shown.
  std::string peer_common_name() const;
  std::string peer_issuer_common_name() const;
  // One HTTP/1.1 request and its response; false on any failure.
  bool request();

 private:
  UniqueFd fd_;
  intercept::SslCtxPtr ctx_;
  intercept::SslPtr ssl_;
  bool ok_ = false;
  std::string error_;
};

// Keeps `certs`' worker thread busy (with a forge of a throwaway certificate signed by `ca`
// whose callback waits) until the returned guard is destroyed: every forge queued meanwhile
// waits, deterministically. The guard releases the worker also when a test fails early.
std::shared_ptr<void> hold_cert_worker(certs::CertService& certs, const CertAndKey& ca);

}  // namespace wb::test
