// One TLS endpoint (client or server role) over memory BIOs: the relay's io_uring loop does all
// socket I/O, this object only transforms bytes. Ciphertext from the peer goes in with feed();
// ciphertext for the peer comes out of output()/consume_output(); plaintext goes in with write()
// and comes out of read(). Nothing here blocks, nothing throws: every step returns how far it got
// and, on failure, a reason that names the TLS alert (sent or received) when there was one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "agent/intercept/handoff_tracker.h"
#include "agent/intercept/ossl_types.h"
#include "agent/tls13/alerts.h"
#include "agent/tls13/record_protection.h"

namespace wb::intercept {

enum class Role : std::uint8_t { kClient, kServer };

// Why a handshake or a read failed, for tunnel-on-error decisions and the session's reason.
struct TlsFailure {
  enum class Kind : std::uint8_t {
    kNone,
    kAlertReceived,        // the peer sent a fatal alert (alert holds its description)
    kAlertSent,            // we sent one (e.g. protocol error in the peer's messages)
    kClientCertRequested,  // upstream server sent CertificateRequest (client role only)
    kPeerClosed,           // EOF without close_notify, or close_notify during the handshake
    kProtocolError,        // OpenSSL error without an alert
  };
  Kind kind = Kind::kNone;
  int alert = -1;      // TLS AlertDescription (e.g. 48 unknown_ca, 42 bad_certificate)
  std::string reason;  // "alert unknown_ca received", "client certificate requested", ...
};

class TlsEndpoint {
 public:
  enum class Progress : std::uint8_t {
    kWantMore,  // needs more ciphertext from the peer (flush output() first)
    kDone,      // handshake complete / plaintext produced
    kClosed,    // the peer sent close_notify (read) - orderly end
    kFailed,    // see failure()
  };

  // A new endpoint on a shared context (up-ref'd). The context's callbacks find this object
  // through SSL_get_app_data.
  static Result<std::unique_ptr<TlsEndpoint>> create(SSL_CTX* ctx, Role role);
  ~TlsEndpoint();
  TlsEndpoint(const TlsEndpoint&) = delete;
  TlsEndpoint& operator=(const TlsEndpoint&) = delete;

  static TlsEndpoint* from(const SSL* ssl);
  SSL* ssl() const { return ssl_.get(); }
  // The contexts' callbacks when made with TlsContextOptions::compact_idle (key log: also writes
  // the KeyLog file attached to the context, if any).
  static void keylog_callback(const SSL* ssl, const char* line);
  static void msg_callback(int write_p, int version, int content_type, const void* buf,
                           std::size_t len, SSL* ssl, void* arg);
  Role role() const { return role_; }

  // ---- network side ----
  void feed(std::span<const std::uint8_t> ciphertext);
  // The peer's FIN: pending reads end (kClosed after close_notify, else kFailed/kPeerClosed).
  void feed_eof();
  // Ciphertext waiting for the peer (a view into the write BIO, valid until consume_output()).
  std::span<const std::uint8_t> output() const;
  void consume_output();
  // Frees the memory BIOs when both are drained: a memory BIO keeps its high-water allocation
  // (a full TLS record, ~17 KiB), and even an empty one costs ~280 bytes (BIO, its lock, two
  // BUF_MEMs), ~1.1 KiB per idle session across its two endpoints. The next feed(), handshake,
  // read or write makes fresh ones. Call when the session goes quiet (not per record: a busy
  // stream would reallocate every time).
  void release_buffers();
  // Bytes the two memory BIOs hold allocated (for tests and memory accounting).
  std::size_t buffer_capacity() const;
  // Whether the endpoint holds its memory BIOs now (false after release_buffers() while idle).
  bool holds_bios() const { return rbio_ != nullptr || wbio_ != nullptr; }

  // Hands the connection over from OpenSSL to wirebump's own record layer (agent/tls13 for
  // TLS 1.3, agent/tls12 for TLS 1.2 AEAD suites) and frees the SSL object (~15 KiB per
  // endpoint): for a quiet session, where OpenSSL's state is all that is left. Only on a context
  // made with TlsContextOptions::compact_idle (it tracks what the hand-off needs,
  // handoff_tracker.h), with nothing in flight: true when done (or done before), false with the
  // reason in `why` when the endpoint stays on OpenSSL. Everything below works the same
  // afterwards; ssl() is then null.
  bool compact(std::string_view& why);
  bool compacted() const { return record_ != nullptr; }

  // ---- TLS ----
  Progress handshake();
  bool handshake_done() const { return handshake_done_; }
  // Appends available plaintext to `out` (up to max_bytes). kDone when something was appended.
  Progress read(std::vector<std::uint8_t>& out, std::size_t max_bytes = 256 * 1024);
  // Fills `out` from its start with available plaintext; `got` says how much. kDone when
  // something was read. For a caller that keeps one buffer (no zero-filling per read).
  Progress read_into(std::span<std::uint8_t> out, std::size_t& got);
  // Encrypts all of `plaintext` (memory BIOs never refuse). Only after the handshake.
  Status write(std::span<const std::uint8_t> plaintext);
  // Queues close_notify (idempotent).
  void shutdown();

  const TlsFailure& failure() const { return failure_; }
  // Negotiated values (after the handshake).
  std::string alpn() const;          // "" when none
  std::string_view version() const;  // "TLSv1.3"
  bool resumed() const;

  // ---- per-connection parameters read by the context callbacks ----
  // Server role: the ALPN to select (empty: none, so the client sees no ALPN).
  // Client role: where new sessions go for resumption (UpstreamSessions), "" = not cached.
  void set_session_key(std::string key) { session_key_ = std::move(key); }
  const std::string& session_key() const { return session_key_; }
  void set_alpn_to_select(std::string alpn) { alpn_to_select_ = std::move(alpn); }
  const std::string& alpn_to_select() const { return alpn_to_select_; }
  // Server role: a DER OCSP response to staple when the client asked for one.
  void set_ocsp_staple(std::vector<std::uint8_t> der) { ocsp_staple_ = std::move(der); }
  const std::vector<std::uint8_t>& ocsp_staple() const { return ocsp_staple_; }
  bool stapled() const { return stapled_; }
  void note_stapled() { stapled_ = true; }
  // Client role: set by the client-certificate callback when the server asked for one.
  void note_client_cert_requested() { client_cert_requested_ = true; }
  bool client_cert_requested() const { return client_cert_requested_; }

 private:
  TlsEndpoint(SslPtr ssl, Role role);
  Progress fail_from(int ret);
  // Makes the memory BIOs that release_buffers() freed; false (failure() set) when out of memory.
  bool ensure_bios();
  Progress compacted_read(std::span<std::uint8_t> out, std::size_t& got);
  // After the handshake: drops what only the handshake needed (the OCSP staple, ours and
  // OpenSSL's copy of it).
  void drop_handshake_state();
  static void info_callback(const SSL* ssl, int where, int ret);

  SslPtr ssl_;  // null once compacted
  // Compaction (compact()): what the hand-off needs, while OpenSSL runs the connection (only on a
  // compact_idle context), then the record layer that replaced it.
  std::unique_ptr<HandoffTracker> tracker_;
  std::unique_ptr<tls13::RecordProtection> record_;
  std::string negotiated_alpn_;  // kept from the SSL at compaction (alpn(), version(), resumed())
  int negotiated_version_ = 0;
  bool negotiated_resumed_ = false;
  Role role_;
  BIO* rbio_ = nullptr;  // owned by ssl_; nullptr while released (idle)
  BIO* wbio_ = nullptr;  // owned by ssl_; nullptr while released (idle)
  bool eof_fed_ = false;
  bool handshake_done_ = false;
  bool client_cert_requested_ = false;
  bool stapled_ = false;
  int alert_received_ = -1;
  int alert_sent_ = -1;
  TlsFailure failure_;
  std::string alpn_to_select_;
  std::string session_key_;
  std::vector<std::uint8_t> ocsp_staple_;
};

// "unknown_ca", "bad_certificate", ... for an AlertDescription (one table for every TLS layer).
using tls13::alert_name;

}  // namespace wb::intercept
