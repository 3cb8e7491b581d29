#include "agent/intercept/tls_endpoint.h"

#include <openssl/buffer.h>

#include <climits>
#include <new>
#include <utility>

#include "agent/intercept/keylog.h"

namespace wb::intercept {

std::string drain_ossl_errors() {
  std::string out;
  char buf[256];
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

TlsEndpoint::TlsEndpoint(SslPtr ssl, Role role) : ssl_(std::move(ssl)), role_(role) {}

TlsEndpoint::~TlsEndpoint() = default;

Result<std::unique_ptr<TlsEndpoint>> TlsEndpoint::create(SSL_CTX* ctx, Role role) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) return ossl_failure("SSL_new");
  if (role == Role::kClient) {
    SSL_set_connect_state(ssl.get());
  } else {
    SSL_set_accept_state(ssl.get());
  }
  std::unique_ptr<TlsEndpoint> endpoint(new TlsEndpoint(std::move(ssl), role));
  if (!endpoint->ensure_bios()) return ossl_failure("BIO_new");
  SSL_set_app_data(endpoint->ssl_.get(), endpoint.get());
  // Before any byte: the tracker must see every record and every byte fed. Without memory for
  // it the endpoint simply stays on OpenSSL.
  if (kept_with_ctx<CompactIdle>(ctx) != nullptr) {
    endpoint->tracker_.reset(new (std::nothrow) HandoffTracker());
  }
  SSL_set_info_callback(endpoint->ssl_.get(), &TlsEndpoint::info_callback);
  return endpoint;
}

TlsEndpoint* TlsEndpoint::from(const SSL* ssl) {
  return static_cast<TlsEndpoint*>(SSL_get_app_data(ssl));
}

void TlsEndpoint::keylog_callback(const SSL* ssl, const char* line) {
  auto* self = from(ssl);
  if (self != nullptr && self->tracker_) self->tracker_->note_keylog_line(line);
  KeyLog::write_for(SSL_get_SSL_CTX(ssl), line);
}

void TlsEndpoint::msg_callback(int write_p, int /*version*/, int content_type, const void* buf,
                               std::size_t len, SSL* ssl, void* /*arg*/) {
  auto* self = from(ssl);
  if (self != nullptr && self->tracker_) {
    self->tracker_->note_message(write_p != 0, content_type, buf, len);
  }
}

void TlsEndpoint::info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  auto* self = from(ssl);
  if (self == nullptr) return;
  const int description = ret & 0xff;
  if (description == 0) return;  // close_notify is an orderly end, not a failure
  if ((where & SSL_CB_READ) != 0) {
    if (self->alert_received_ < 0) self->alert_received_ = description;
  } else if (self->alert_sent_ < 0) {
    self->alert_sent_ = description;
  }
}

void TlsEndpoint::feed(std::span<const std::uint8_t> ciphertext) {
  if (record_) {
    record_->feed(ciphertext);
    return;
  }
  if (ciphertext.empty() || !ensure_bios()) return;  // out of memory: the next read fails
  if (tracker_) tracker_->note_fed(ciphertext);
  while (!ciphertext.empty()) {
    const int n = static_cast<int>(std::min<std::size_t>(ciphertext.size(), INT_MAX));
    const int written = BIO_write(rbio_, ciphertext.data(), n);
    if (written <= 0) return;  // memory BIO: only on allocation failure; the read then fails
    ciphertext = ciphertext.subspan(static_cast<std::size_t>(written));
  }
}

void TlsEndpoint::feed_eof() {
  eof_fed_ = true;
  if (record_) record_->feed_eof();
  if (rbio_ != nullptr) BIO_set_mem_eof_return(rbio_, 0);  // else made with it (ensure_bios)
}

std::span<const std::uint8_t> TlsEndpoint::output() const {
  if (record_) return record_->output();
  if (wbio_ == nullptr) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(wbio_, &data);
  if (n <= 0 || data == nullptr) return {};
  return {reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(n)};
}

namespace {
std::size_t bio_capacity(BIO* bio) {
  if (bio == nullptr) return 0;
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem == nullptr ? 0 : mem->max;
}

// A fresh, empty memory BIO, or nullptr. An empty read BIO means "wait for more" (-1), not EOF,
// until feed_eof() (0).
BIO* fresh_bio(bool eof) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr) BIO_set_mem_eof_return(bio, eof ? 0 : -1);
  return bio;
}
}  // namespace

bool TlsEndpoint::ensure_bios() {
  // SSL_set0_* hand ownership to the SSL (freeing what it held before).
  if (rbio_ == nullptr) {
    if (BIO* bio = fresh_bio(eof_fed_)) {
      SSL_set0_rbio(ssl_.get(), bio);
      rbio_ = bio;
    }
  }
  if (wbio_ == nullptr) {
    if (BIO* bio = fresh_bio(false)) {
      SSL_set0_wbio(ssl_.get(), bio);
      wbio_ = bio;
    }
  }
  if (rbio_ != nullptr && wbio_ != nullptr) return true;
  if (failure_.kind == TlsFailure::Kind::kNone) {
    failure_ = {TlsFailure::Kind::kProtocolError, -1, "out of memory for a memory BIO"};
  }
  return false;
}

void TlsEndpoint::release_buffers() {
  if (record_) {
    record_->release_buffers();
    return;
  }
  // Only when both are drained: ciphertext not yet fed to OpenSSL, or not yet sent, stays.
  // OpenSSL's own record buffers are given back by SSL_MODE_RELEASE_BUFFERS (tls_contexts).
  // During the handshake the SSL buffers its flight in a BIO pushed onto ours: leave it be.
  if (!handshake_done_ || rbio_ == nullptr || wbio_ == nullptr) return;
  if (BIO_pending(rbio_) != 0 || BIO_pending(wbio_) != 0) return;
  SSL_set0_rbio(ssl_.get(), nullptr);  // frees it
  SSL_set0_wbio(ssl_.get(), nullptr);
  rbio_ = nullptr;
  wbio_ = nullptr;
}

std::size_t TlsEndpoint::buffer_capacity() const {
  if (record_) return record_->buffer_capacity();
  return bio_capacity(rbio_) + bio_capacity(wbio_);
}

void TlsEndpoint::consume_output() {
  if (record_) {
    record_->consume_output();
    return;
  }
  if (wbio_ != nullptr) (void)BIO_reset(wbio_);
}

void TlsEndpoint::drop_handshake_state() {
  // TLS 1.3 has no renegotiation: no later handshake on this connection staples again. The
  // staple (~1-2 KiB of DER, twice: ours and OpenSSL's copy) is otherwise held until the end.
  if (role_ != Role::kServer || SSL_version(ssl_.get()) != TLS1_3_VERSION) return;
  std::vector<std::uint8_t>().swap(ocsp_staple_);
  if (stapled_) SSL_set_tlsext_status_ocsp_resp(ssl_.get(), nullptr, 0);  // frees OpenSSL's copy
}

TlsEndpoint::Progress TlsEndpoint::fail_from(int ret) {
  const int err = SSL_get_error(ssl_.get(), ret);
  const unsigned long first = ERR_peek_error();
  const auto detail = drain_ossl_errors();
  TlsFailure f;
  if (client_cert_requested_) {
    f.kind = TlsFailure::Kind::kClientCertRequested;
    f.reason = "client certificate requested";
  } else if (alert_received_ >= 0) {
    f.kind = TlsFailure::Kind::kAlertReceived;
    f.alert = alert_received_;
    f.reason = "alert " + alert_name(alert_received_) + " received";
  } else if (err == SSL_ERROR_ZERO_RETURN) {
    f.kind = TlsFailure::Kind::kPeerClosed;
    f.reason = handshake_done_ ? "close_notify" : "close_notify during handshake";
  } else if (err == SSL_ERROR_SYSCALL ||
             (err == SSL_ERROR_SSL &&
              ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    f.kind = TlsFailure::Kind::kPeerClosed;
    f.reason =
        handshake_done_ ? "peer closed without close_notify" : "peer closed during handshake";
  } else if (alert_sent_ >= 0) {
    f.kind = TlsFailure::Kind::kAlertSent;
    f.alert = alert_sent_;
    f.reason = "alert " + alert_name(alert_sent_) + " sent";
    if (!detail.empty()) f.reason += " (" + detail + ")";
  } else {
    f.kind = TlsFailure::Kind::kProtocolError;
    f.reason = detail.empty() ? "TLS error " + std::to_string(err) : detail;
  }
  failure_ = std::move(f);
  return Progress::kFailed;
}

TlsEndpoint::Progress TlsEndpoint::handshake() {
  if (handshake_done_) return Progress::kDone;
  if (failure_.kind != TlsFailure::Kind::kNone || !ensure_bios()) return Progress::kFailed;
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) {
    handshake_done_ = true;
    drop_handshake_state();
    return Progress::kDone;
  }
  const int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::kWantMore;
  if (err == SSL_ERROR_WANT_X509_LOOKUP) {
    // The client-certificate callback paused the handshake: the server wants a certificate we do
    // not have. Stop here, before anything more goes to the server.
    client_cert_requested_ = true;
  }
  return fail_from(ret);
}

TlsEndpoint::Progress TlsEndpoint::read(std::vector<std::uint8_t>& out, std::size_t max_bytes) {
  // Grown a record's worth at a time: the vector is value-initialised as it grows.
  std::size_t total = 0;
  Progress p = Progress::kWantMore;
  while (total < max_bytes) {
    const std::size_t want = std::min<std::size_t>(16 * 1024, max_bytes - total);
    const std::size_t old = out.size();
    out.resize(old + want);
    std::size_t got = 0;
    p = read_into(std::span<std::uint8_t>(out).subspan(old, want), got);
    out.resize(old + got);
    total += got;
    // Nothing more now, the end, or a failure (a compacted endpoint reads one record per call).
    if (p != Progress::kDone) break;
  }
  // Data first; an end or failure after it shows on the next call.
  return total > 0 ? Progress::kDone : p;
}

TlsEndpoint::Progress TlsEndpoint::read_into(std::span<std::uint8_t> out, std::size_t& got) {
  got = 0;
  if (record_) return compacted_read(out, got);
  if (failure_.kind != TlsFailure::Kind::kNone || !ensure_bios()) return Progress::kFailed;
  while (got < out.size()) {
    std::size_t n = 0;
    ERR_clear_error();
    const int ret = SSL_read_ex(ssl_.get(), out.data() + got, out.size() - got, &n);
    if (ret == 1) {
      got += n;
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (got > 0) return Progress::kDone;  // report the data now, the end on the next call
    if (err == SSL_ERROR_ZERO_RETURN) return Progress::kClosed;
    return fail_from(ret);
  }
  return got > 0 ? Progress::kDone : Progress::kWantMore;
}

Status TlsEndpoint::write(std::span<const std::uint8_t> plaintext) {
  if (!handshake_done_) return make_error(std::errc::not_connected, "TLS write before handshake");
  if (record_) return record_->write(plaintext);
  if (!ensure_bios()) return make_error(std::errc::not_enough_memory, failure_.reason);
  while (!plaintext.empty()) {
    std::size_t written = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_.get(), plaintext.data(), plaintext.size(), &written) != 1) {
      return ossl_failure("SSL_write");
    }
    plaintext = plaintext.subspan(written);
  }
  return {};
}

void TlsEndpoint::shutdown() {
  if (record_) {
    record_->shutdown();
    return;
  }
  if (!handshake_done_ || (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) != 0) return;
  if (!ensure_bios()) return;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

std::string TlsEndpoint::alpn() const {
  if (!ssl_) return negotiated_alpn_;
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

std::string_view TlsEndpoint::version() const {
  if (ssl_) return SSL_get_version(ssl_.get());
  return negotiated_version_ == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3";
}

bool TlsEndpoint::resumed() const {
  return ssl_ ? SSL_session_reused(ssl_.get()) == 1 : negotiated_resumed_;
}

// ---------------------------------------------------------------------------------------------
// Compaction

bool TlsEndpoint::compact(std::string_view& why) {
  if (record_) return true;
  if (!tracker_) {
    why = "context does not track hand-offs";
    return false;
  }
  if (!handshake_done_ || failure_.kind != TlsFailure::Kind::kNone || eof_fed_) {
    why = handshake_done_ ? "ended" : "handshake not done";
    return false;
  }
  // Every byte fed must have been read by OpenSSL, and every byte it wrote taken: the record
  // counts then match the stream on both sides.
  if ((rbio_ != nullptr && BIO_pending(rbio_) != 0) ||
      (wbio_ != nullptr && BIO_pending(wbio_) != 0)) {
    why = "bytes in flight";
    return false;
  }
  auto layer = tracker_->hand_over(ssl_.get(), role_ == Role::kClient, why);
  if (!layer) return false;
  negotiated_alpn_ = alpn();
  negotiated_resumed_ = resumed();
  negotiated_version_ = SSL_version(ssl_.get());
  record_ = std::move(layer);
  tracker_.reset();
  rbio_ = nullptr;  // owned by the SSL
  wbio_ = nullptr;
  ssl_.reset();
  return true;
}

TlsEndpoint::Progress TlsEndpoint::compacted_read(std::span<std::uint8_t> out, std::size_t& got) {
  using Kind = tls13::RecordProtection::Failure::Kind;
  using Record = tls13::RecordProtection::Progress;
  switch (record_->read_into(out, got)) {
    case Record::kWantMore:
      return Progress::kWantMore;
    case Record::kDone:
      return Progress::kDone;
    case Record::kClosed:
      return Progress::kClosed;
    case Record::kFailed:
      break;
  }
  const auto& f = record_->failure();
  TlsFailure mine;
  mine.alert = f.alert;
  mine.reason = f.reason;
  switch (f.kind) {
    case Kind::kAlertReceived:
      mine.kind = TlsFailure::Kind::kAlertReceived;
      break;
    case Kind::kAlertSent:
      mine.kind = TlsFailure::Kind::kAlertSent;
      break;
    case Kind::kPeerClosed:
      mine.kind = TlsFailure::Kind::kPeerClosed;
      break;
    case Kind::kNone:
      mine.kind = TlsFailure::Kind::kProtocolError;
      break;
  }
  failure_ = std::move(mine);
  return Progress::kFailed;
}

}  // namespace wb::intercept
