#include "tests/intercept/tls_peers.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>

namespace wb::test {
namespace {

constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

std::string common_name(const X509_NAME* name) {
  char buf[256] = {};
  if (name == nullptr || X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName,
                                                   buf, sizeof buf) < 0) {
    return "";
  }
  return buf;
}

std::string last_error(const char* what) {
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

// Reads one HTTP message head (up to the blank line) plus `body` bytes; false on failure.
bool read_message(SSL* ssl, std::size_t body) {
  std::string got;
  char buf[1024];
  while (true) {
    const auto end = got.find("\r\n\r\n");
    if (end != std::string::npos && got.size() >= end + 4 + body) return true;
    if (got.size() > 16384) return false;
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

SniTlsServer::SniTlsServer(const CertAndKey& ca) : ca_(ca), ctx_(SSL_CTX_new(TLS_server_method())) {
  SSL_CTX_set_tlsext_servername_callback(ctx_.get(), &SniTlsServer::on_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx_.get(), this);
  server_ = std::make_unique<TestServer>([this](int fd) { serve(fd); });
}

SniTlsServer::~SniTlsServer() {
  server_.reset();  // joins the connection threads first
}

std::size_t SniTlsServer::certificates() const {
  std::lock_guard lock(mu_);
  return by_name_.size();
}

int SniTlsServer::on_servername(SSL* ssl, int* /*alert*/, void* arg) {
  auto* self = static_cast<SniTlsServer*>(arg);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const std::string name = sni != nullptr ? sni : "no-sni.example.test";
  std::lock_guard lock(self->mu_);
  auto it = self->by_name_.find(name);
  if (it == self->by_name_.end()) {
    it = self->by_name_.emplace(name, make_leaf(self->ca_, name, {name})).first;
  }
  if (SSL_use_certificate(ssl, it->second.cert.get()) != 1 ||
      SSL_use_PrivateKey(ssl, it->second.key.get()) != 1) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

void SniTlsServer::serve(int fd) {
  set_timeouts(fd, 30'000);
  intercept::SslPtr ssl(SSL_new(ctx_.get()));
  SSL_set_fd(ssl.get(), fd);
  if (SSL_accept(ssl.get()) != 1) {
    ERR_clear_error();
    return;
  }
  while (read_message(ssl.get(), 0)) {
    if (SSL_write(ssl.get(), kResponse.data(), static_cast<int>(kResponse.size())) <= 0) break;
  }
  ERR_clear_error();
}

TlsClient::TlsClient(const session::Endpoint& to, const std::string& sni,
                     const std::string& trusted, std::chrono::milliseconds timeout)
    : fd_(connect_to(to)), ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!fd_) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  set_timeouts(fd_.get(), static_cast<int>(timeout.count()));
  if (SSL_CTX_load_verify_locations(ctx_.get(), trusted.c_str(), nullptr) != 1) {
    error_ = last_error("load trust");
    return;
  }
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_tlsext_host_name(ssl_.get(), sni.c_str());
  SSL_set1_host(ssl_.get(), sni.c_str());
  SSL_set_fd(ssl_.get(), fd_.get());
  if (SSL_connect(ssl_.get()) != 1) {
    error_ = last_error("handshake");
    return;
  }
  ok_ = true;
}

std::string TlsClient::peer_common_name() const {
  X509* peer = ssl_ ? SSL_get0_peer_certificate(ssl_.get()) : nullptr;
  return peer == nullptr ? "" : common_name(X509_get_subject_name(peer));
}

std::string TlsClient::peer_issuer_common_name() const {
  X509* peer = ssl_ ? SSL_get0_peer_certificate(ssl_.get()) : nullptr;
  return peer == nullptr ? "" : common_name(X509_get_issuer_name(peer));
}

bool TlsClient::request() {
  if (!ok_) return false;
  static constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
  if (SSL_write(ssl_.get(), kRequest.data(), static_cast<int>(kRequest.size())) <= 0) return false;
  return read_message(ssl_.get(), 2);
}

std::shared_ptr<void> hold_cert_worker(certs::CertService& certs, const CertAndKey& ca) {
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool held = false, released = false;
  };
  auto gate = std::make_shared<Gate>();
  // Its own server certificate: forging it warms the cache for nobody else.
  const auto other = make_leaf(ca, "hold.example.test", {"hold.example.test"});
  certs.forge_async(
      certs::ForgeRequest{other.cert.get(), true, {}}, std::time(nullptr), [gate](auto) {
        std::unique_lock lock(gate->mu);
        gate->held = true;
        gate->cv.notify_all();
        gate->cv.wait_for(lock, std::chrono::seconds(60), [&] { return gate->released; });
      });
  {
    std::unique_lock lock(gate->mu);
    gate->cv.wait_for(lock, std::chrono::seconds(10), [&] { return gate->held; });
  }
  return std::shared_ptr<void>(nullptr, [gate](void*) {
    std::lock_guard lock(gate->mu);
    gate->released = true;
    gate->cv.notify_all();
  });
}

}  // namespace wb::test
