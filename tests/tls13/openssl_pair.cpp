#include "tests/tls13/openssl_pair.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tests/intercept/test_pki.h"
#include "tests/tls13/openssl_pair_common.h"

namespace wb::test {
namespace {

const CertAndKey& server_identity() {
  static const CertAndKey ca = make_ca("wirebump tls13 test CA");
  static const CertAndKey leaf = make_leaf(ca, "tls13.test", {"tls13.test"});
  return leaf;
}

}  // namespace

void OpensslPair::keylog(const SSL* ssl, const char* line) {
  auto* s = static_cast<Side*>(SSL_get_app_data(ssl));
  auto parsed = tls13::parse_traffic_secret_line(line);
  if (s == nullptr || !parsed) return;
  if (parsed->label == tls13::TrafficSecretLine::Label::kClientTraffic0) {
    s->client_secret = std::move(parsed->secret);
  } else {
    s->server_secret = std::move(parsed->secret);
  }
}

void OpensslPair::info(const SSL* ssl, int where, int ret) {
  auto* s = static_cast<Side*>(SSL_get_app_data(ssl));
  if (s != nullptr && (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT)
    s->alert_received = ret & 0xff;
}

OpensslPair::OpensslPair(const char* ciphersuite, int tickets) {
  client_ctx_ = SSL_CTX_new(TLS_client_method());
  server_ctx_ = SSL_CTX_new(TLS_server_method());
  for (SSL_CTX* ctx : {client_ctx_, server_ctx_}) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    EXPECT_EQ(SSL_CTX_set_ciphersuites(ctx, ciphersuite), 1) << ciphersuite;
    SSL_CTX_set_keylog_callback(ctx, keylog);
    SSL_CTX_set_info_callback(ctx, info);
  }
  SSL_CTX_set_num_tickets(server_ctx_, static_cast<size_t>(tickets));
  EXPECT_EQ(SSL_CTX_use_certificate(server_ctx_, server_identity().cert.get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(server_ctx_, server_identity().key.get()), 1);
  for (bool client : {true, false}) {
    Side& s = side(client);
    s.ssl = SSL_new(client ? client_ctx_ : server_ctx_);
    s.in = BIO_new(BIO_s_mem());
    s.out = BIO_new(BIO_s_mem());
    SSL_set_bio(s.ssl, s.in, s.out);
    SSL_set_app_data(s.ssl, &s);
    if (client) {
      SSL_set_connect_state(s.ssl);
      SSL_set_tlsext_host_name(s.ssl, "tls13.test");
    } else {
      SSL_set_accept_state(s.ssl);
    }
  }
}

OpensslPair::~OpensslPair() {
  SSL_free(client_.ssl);
  SSL_free(server_.ssl);
  SSL_CTX_free(client_ctx_);
  SSL_CTX_free(server_ctx_);
  ERR_clear_error();
}

bool OpensslPair::handshake() {
  // ClientHello; the server's flight; the client's Finished (the client's application key
  // starts after it); then the server reads Finished and writes its tickets under its
  // application key.
  const bool ok = SSL_do_handshake(client_.ssl) == -1 && (flush(true), true) &&
                  SSL_do_handshake(server_.ssl) == -1 && (flush(false), true) &&
                  SSL_do_handshake(client_.ssl) == 1;
  EXPECT_TRUE(ok) << "handshake up to the client's Finished";
  if (!ok) return false;
  flush(true);
  client_.counting = true;
  server_.counting = true;
  EXPECT_EQ(SSL_do_handshake(server_.ssl), 1);
  flush(false);
  EXPECT_TRUE(client_.client_secret && client_.server_secret && server_.client_secret &&
              server_.server_secret)
      << "key log lines captured";
  return true;
}

Bytes OpensslPair::take_output(bool client) {
  return drain_bio(side(client).out);
}

void OpensslPair::give_input(bool client, std::span<const std::uint8_t> bytes) {
  fill_bio(side(client).in, bytes);
}

void OpensslPair::flush(bool from_client) {
  const Bytes bytes = take_output(from_client);
  Side& s = side(from_client);
  if (s.counting) s.sent.consume(bytes);
  give_input(!from_client, bytes);
}

std::uint64_t OpensslPair::records_sent(bool by_client) const {
  return side(by_client).sent.complete();
}

Bytes OpensslPair::read(bool client, int& error) {
  return ssl_read_all(side(client).ssl, error);
}

bool OpensslPair::write(bool client, std::span<const std::uint8_t> plaintext) {
  return ssl_write_all(side(client).ssl, plaintext);
}

std::optional<tls13::Handoff> OpensslPair::handoff(bool client) {
  Side& s = side(client);
  expect_read_drained(s.ssl);
  flush(client);  // anything it still had to say (e.g. its answer to a KeyUpdate)
  const auto suite =
      tls13::suite_from_id(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(s.ssl)));
  if (!suite || !s.client_secret || !s.server_secret) return std::nullopt;
  tls13::Handoff h{*suite,
                   client,
                   client ? *s.server_secret : *s.client_secret,
                   side(!client).sent.complete(),
                   client ? *s.client_secret : *s.server_secret,
                   s.sent.complete()};
  SSL_free(s.ssl);
  s.ssl = nullptr;
  return h;
}

}  // namespace wb::test
