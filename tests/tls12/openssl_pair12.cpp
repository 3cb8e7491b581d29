#include "tests/tls12/openssl_pair12.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "tests/intercept/test_pki.h"
#include "tests/tls13/openssl_pair_common.h"

namespace wb::test {
namespace {

const CertAndKey& ec_identity() {
  static const CertAndKey ca = make_ca("wirebump tls12 test CA");
  static const CertAndKey leaf = make_leaf(ca, "tls12.test", {"tls12.test"});
  return leaf;
}

// The test PKI makes EC keys only; ECDHE_RSA and RSA key exchange need an RSA certificate. The
// client does not verify it (SSL_VERIFY_NONE), so a self-signed one is enough.
const CertAndKey& rsa_identity() {
  static const CertAndKey id = [] {
    CertAndKey c;
    c.key.reset(EVP_RSA_gen(2048));
    c.cert.reset(X509_new());
    X509_set_version(c.cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(c.cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c.cert.get()), 86400);
    X509_NAME* name = X509_get_subject_name(c.cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("tls12-rsa.test"), -1, -1, 0);
    X509_set_issuer_name(c.cert.get(), name);
    X509_set_pubkey(c.cert.get(), c.key.get());
    X509_sign(c.cert.get(), c.key.get(), EVP_sha256());
    return c;
  }();
  return id;
}

}  // namespace

void Tls12Pair::on_message(int write_p, int /*version*/, int content_type, const void* buf,
                           size_t len, SSL* ssl, void* /*arg*/) {
  auto* s = static_cast<Side*>(SSL_get_app_data(ssl));
  if (s == nullptr || content_type != SSL3_RT_HEADER || len < 1) return;
  // Counted on the record headers alone, both directions, as the coordinator counts them on one
  // SSL object: a CCS record restarts the count, and the Finished after it is seq 0. (OpenSSL
  // 3.0 reports a CCS it writes as a message too, but not one it reads: the header's type byte
  // is the only signal that works both ways.)
  bool& ccs = write_p == 1 ? s->ccs_written : s->ccs_read;
  std::uint64_t& count = write_p == 1 ? s->written_after_ccs : s->read_after_ccs;
  if (static_cast<const std::uint8_t*>(buf)[0] == SSL3_RT_CHANGE_CIPHER_SPEC) {
    ccs = true;
    count = 0;
  } else if (ccs) {
    ++count;
  }
}

void Tls12Pair::info(const SSL* ssl, int where, int ret) {
  auto* s = static_cast<Side*>(SSL_get_app_data(ssl));
  if (s != nullptr && (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT) {
    s->alert_received = ret & 0xff;
    s->alert_level = (ret >> 8) & 0xff;
  }
}

Tls12Pair::Tls12Pair(const char* cipher_list, ServerKey key) {
  client_ctx_ = SSL_CTX_new(TLS_client_method());
  server_ctx_ = SSL_CTX_new(TLS_server_method());
  for (SSL_CTX* ctx : {client_ctx_, server_ctx_}) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_set_cipher_list(ctx, cipher_list), 1) << cipher_list;
    SSL_CTX_set_info_callback(ctx, info);
    SSL_CTX_set_msg_callback(ctx, on_message);
  }
  const CertAndKey& id = key == ServerKey::kRsa ? rsa_identity() : ec_identity();
  EXPECT_EQ(SSL_CTX_use_certificate(server_ctx_, id.cert.get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(server_ctx_, id.key.get()), 1);
  make_ssls();
}

void Tls12Pair::make_ssls() {
  for (bool client : {true, false}) {
    Side& s = side(client);
    if (s.ssl != nullptr) {
      // Freed as cleanly closed: otherwise OpenSSL marks the session not resumable.
      SSL_set_shutdown(s.ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      SSL_free(s.ssl);
    }
    s = Side{};
    s.ssl = SSL_new(client ? client_ctx_ : server_ctx_);
    s.in = BIO_new(BIO_s_mem());
    s.out = BIO_new(BIO_s_mem());
    SSL_set_bio(s.ssl, s.in, s.out);
    SSL_set_app_data(s.ssl, &s);
    if (client) {
      SSL_set_connect_state(s.ssl);
      SSL_set_tlsext_host_name(s.ssl, "tls12.test");
    } else {
      SSL_set_accept_state(s.ssl);
    }
  }
}

bool Tls12Pair::resume() {
  SSL_SESSION* session = SSL_get1_session(client_.ssl);
  make_ssls();
  const bool set = session != nullptr && SSL_set_session(client_.ssl, session) == 1;
  SSL_SESSION_free(session);
  // Abbreviated handshake: the server's CCS and Finished come first, then the client's.
  const bool ok = set && SSL_do_handshake(client_.ssl) == -1 && (flush(true), true) &&
                  SSL_do_handshake(server_.ssl) == -1 && (flush(false), true) &&
                  SSL_do_handshake(client_.ssl) == 1 && (flush(true), true) &&
                  SSL_do_handshake(server_.ssl) == 1;
  EXPECT_TRUE(ok) << "TLS 1.2 resumption";
  EXPECT_EQ(SSL_session_reused(client_.ssl), 1);
  return ok;
}

Tls12Pair::~Tls12Pair() {
  SSL_free(client_.ssl);
  SSL_free(server_.ssl);
  SSL_CTX_free(client_ctx_);
  SSL_CTX_free(server_ctx_);
  ERR_clear_error();
}

bool Tls12Pair::handshake() {
  // ClientHello; the server's flight; the client's key exchange, CCS and Finished; the
  // server's (ticket,) CCS and Finished.
  const bool ok = SSL_do_handshake(client_.ssl) == -1 && (flush(true), true) &&
                  SSL_do_handshake(server_.ssl) == -1 && (flush(false), true) &&
                  SSL_do_handshake(client_.ssl) == -1 && (flush(true), true) &&
                  SSL_do_handshake(server_.ssl) == 1 && (flush(false), true) &&
                  SSL_do_handshake(client_.ssl) == 1;
  EXPECT_TRUE(ok) << "TLS 1.2 handshake";
  EXPECT_EQ(SSL_version(client_.ssl), TLS1_2_VERSION);
  return ok;
}

Bytes Tls12Pair::take_output(bool client) {
  return drain_bio(side(client).out);
}

void Tls12Pair::give_input(bool client, std::span<const std::uint8_t> bytes) {
  fill_bio(side(client).in, bytes);
}

void Tls12Pair::flush(bool from_client) {
  give_input(!from_client, take_output(from_client));
}

Bytes Tls12Pair::read(bool client, int& error) {
  return ssl_read_all(side(client).ssl, error);
}

bool Tls12Pair::write(bool client, std::span<const std::uint8_t> plaintext) {
  return ssl_write_all(side(client).ssl, plaintext);
}

std::optional<tls12::Handoff> Tls12Pair::handoff(bool client) {
  Side& s = side(client);
  expect_read_drained(s.ssl);
  flush(client);
  tls12::Handoff h{};
  h.cipher_suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(s.ssl));
  h.is_client = client;
  if (SSL_SESSION_get_master_key(SSL_get_session(s.ssl), h.master_secret.data(),
                                 h.master_secret.size()) != h.master_secret.size() ||
      SSL_get_client_random(s.ssl, h.client_random.data(), h.client_random.size()) !=
          h.client_random.size() ||
      SSL_get_server_random(s.ssl, h.server_random.data(), h.server_random.size()) !=
          h.server_random.size()) {
    return std::nullopt;
  }
  // What this SSL counted reading must agree with what the peer counted writing.
  EXPECT_EQ(s.read_after_ccs, side(!client).written_after_ccs);
  h.read_seq = s.read_after_ccs;
  h.write_seq = s.written_after_ccs;
  SSL_free(s.ssl);
  s.ssl = nullptr;
  return h;
}

}  // namespace wb::test
