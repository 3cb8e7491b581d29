// The interception handler: one per steered connection, on the relay's Handler interface (the
// relay owns every socket; this object only decides and transforms bytes).
//
//   peek      the client's first bytes (bounded, with the first-bytes timeout) are kept, not
//             forwarded, until they are classified:
//               TLS ClientHello  -> policy: tunnel (connect, replay, relay untouched), deny, or
//                                   intercept (below)
//               pseudo-TLS / SIP / STUN / MS-TURN / HTTP -> relayed with the matching inspector
//               unknown          -> relayed or denied per policy
//   upstream  TLS client towards the original destination with the client's SNI and ALPN. It
//             completes FIRST, so its verification result picks the issuer and its ALPN is what
//             the client is offered (unless speculative, below). Failure (alert, protocol error,
//             CertificateRequest) before anything reached the client = tunnel on error: fresh
//             upstream, replay the client's bytes, relay untouched; the destination is learned.
//   forge     the forged certificate: a cache hit at once; a miss is forged (and its OCSP staple
//             made) on the certificate service's worker thread, and the session resumes on its
//             loop through the relay's Waker (on_wake). Too slow (handshake timeout): tunnel.
//   client    TLS server with the forged certificate (and an OCSP staple if asked). A client that
//             rejects it (alert, close during the handshake, or the pinning signature: offered
//             ALPN, then closed within pinning_window of the handshake without a byte of data,
//             as curl --pinnedpubkey does) makes the destination learned: the next connection is
//             tunnelled from the first byte. A silent close without ALPN (a TLS health check) or
//             after the window is only counted (closed_without_data).
//   speculative  a destination intercepted before (speculation_hints.h): the client leg starts
//             at once with the certificate forged then, beside the upstream handshake; nothing
//             is detected or forwarded until the upstream has verified with the promised ALPN,
//             else the client is reset and the hint dropped.
//   detect    the first decrypted bytes (the client's; the server's when the client stays silent
//             for server_first_timeout) choose the inspector, or the undetected-protocol policy.
//   relay     decrypted bytes pass through the inspector and are re-encrypted for the other leg.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/intercept/intercept_service.h"
#include "agent/intercept/tls_endpoint.h"
#include "agent/policy/policy.h"
#include "agent/relay/handler.h"
#include "inspectors/inspector.h"

namespace wb::intercept {

class InterceptHandler final : public relay::Handler {
 public:
  InterceptHandler(InterceptService& service, const relay::ConnectionInfo& info);
  ~InterceptHandler() override;

  void on_start(relay::SessionIo& io) override;
  void on_data(relay::SessionIo& io, relay::Side from,
               std::span<const std::uint8_t> bytes) override;
  void on_eof(relay::SessionIo& io, relay::Side from) override;
  void on_upstream_connected(relay::SessionIo& io) override;
  void on_upstream_failed(relay::SessionIo& io, const Error& error) override;
  void on_error(relay::SessionIo& io, relay::Side side, const Error& error) override;
  void on_timeout(relay::SessionIo& io, relay::TimeoutKind kind) override;
  void on_wake(relay::SessionIo& io, std::uint64_t token) override;

 private:
  enum class Phase : std::uint8_t {
    kPeek,               // collecting the client's first bytes
    kRaw,                // relaying untouched (tunnel, plaintext protocols), maybe inspected
    kUpstreamHandshake,  // connecting + TLS towards the server; the client waits
    kForging,            // certificate cache miss: forged on the certificate worker; waits
    kClientHandshake,    // TLS towards the client with the forged certificate
    kDetect,             // both legs up, waiting for the first decrypted bytes
    kDecrypted,          // relaying decrypted bytes, maybe inspected
    kDone,               // closing
  };

  // ---- peek ----
  void on_first_bytes(relay::SessionIo& io);
  // Client bytes that arrive while the client waits (upstream handshake, forging); false when
  // beyond the bound (the session is then closed).
  bool keep_client_bytes(relay::SessionIo& io, std::span<const std::uint8_t> bytes);
  void decide_plaintext(relay::SessionIo& io, const peek::Peek& peek);
  void start_tunnel(relay::SessionIo& io, session::Protocol label, session::Verdict verdict,
                    const std::string& reason);
  void deny(relay::SessionIo& io, session::Protocol label, const std::string& reason);

  // ---- raw relay ----
  void relay_raw(relay::SessionIo& io, relay::Side from, std::span<const std::uint8_t> bytes);

  // ---- interception ----
  // up_ made and configured for the destination.
  Status make_upstream();
  void start_upstream_tls(relay::SessionIo& io);
  void upstream_progress(relay::SessionIo& io);
  // Tunnel on error (or close when it is off); `learn` remembers the destination.
  void upstream_failed(relay::SessionIo& io, std::string reason,
                       std::optional<policy::LearnReason> learn);
  // Gets the forged certificate: a cache hit continues at once, a miss on on_wake.
  void start_client_leg(relay::SessionIo& io);
  void forged(relay::SessionIo& io, Result<std::shared_ptr<const certs::ForgedCert>> result,
              std::shared_ptr<const certs::Bytes> staple);
  // The client leg with forged_ (and server_alpn_): fed the client's hello, handshake started.
  void begin_client_leg(relay::SessionIo& io, std::shared_ptr<const certs::Bytes> staple);
  void client_progress(relay::SessionIo& io);
  // "intercepted", with "(untrusted upstream)" or "(speculative handshake)": the session's reason.
  std::string intercepted_how() const;
  void client_rejected(relay::SessionIo& io, const std::string& reason,
                       policy::LearnReason learn_reason);
  void read_server_plaintext(relay::SessionIo& io);
  void read_client_plaintext(relay::SessionIo& io);
  void try_detect(relay::SessionIo& io, bool server_first_timeout);
  // The client closed after the handshake without a byte: pinning (learned) or not.
  void client_left_silently(relay::SessionIo& io);
  void start_decrypted(relay::SessionIo& io, const policy::Decision& decision);
  // Passes plaintext from `from` through the inspector into the other leg.
  bool forward_plaintext(relay::SessionIo& io, relay::Side from,
                         std::span<const std::uint8_t> plain);
  void decrypted_eof(relay::SessionIo& io, relay::Side from);
  void finish_decrypted(relay::SessionIo& io);
  bool flush(relay::SessionIo& io, relay::Side to);
  // A quiet leg leaves OpenSSL for the record layer (TlsEndpoint::compact), counted; a leg that
  // cannot (a CBC suite, bytes in flight, keys updated) stays on OpenSSL, logged at debug.
  void compact(TlsEndpoint& leg, const char* which);
  // Whether this session's legs carry compaction's tracking (quiet_history.h): decided once,
  // when its first leg is made.
  bool track_compaction();
  // The session's first quiet period, and its end: what the quiet history learns.
  void note_quiet();
  void note_end();
  std::string quiet_key() const;
  TlsEndpoint* endpoint(relay::Side side) const;

  // ---- speculative handshake ----
  // Starts the client leg from a hint, beside the upstream handshake; false: no hint.
  bool try_speculate(relay::SessionIo& io);
  // The speculative session's upstream handshake completed: it must have verified, with the
  // ALPN the client was given.
  void confirm_speculation(relay::SessionIo& io);
  // Resets the client (it has our handshake, so it cannot be tunnelled) and drops the hint.
  void speculation_failed(relay::SessionIo& io, std::string reason);
  std::string hint_key() const;
  void drop_hint();
  void keep_hint();
  // Server bytes while the client leg runs: the upstream handshake's, or plaintext after it.
  void server_bytes(relay::SessionIo& io, std::span<const std::uint8_t> bytes);

  // ---- inspection + session record ----
  void make_inspector(relay::SessionIo& io, session::Protocol label, bool alpn_h2);
  // The bytes to forward (the input, or the inspector's rewrite), or nothing when denied.
  void publish_inspection(relay::SessionIo& io, bool now);
  std::optional<std::span<const std::uint8_t>> inspect(relay::SessionIo& io, relay::Side from,
                                                       std::span<const std::uint8_t> in);
  void record(relay::SessionIo& io, session::Protocol label, session::Verdict verdict,
              const std::string& reason);
  // Every close goes through here: the close reason is what the session table keeps and the
  // end-of-session line logs, so it carries the verdict's reason (why tunnelled, why denied)
  // followed by how the connection ended ("tunnel on error: ...; client closed").
  void fail(relay::SessionIo& io, relay::CloseMode mode, const std::string& how);
  std::string close_reason(const std::string& how) const;

  InterceptService& svc_;
  relay::ConnectionInfo info_;
  policy::Destination dst_;
  Phase phase_ = Phase::kPeek;

  std::vector<std::uint8_t> first_;  // the client's original bytes (replayed on tunnel)
  peek::ClientHello hello_;
  bool allow_undetected_ = false;

  std::unique_ptr<TlsEndpoint> up_;    // towards the server (client role)
  std::unique_ptr<TlsEndpoint> down_;  // towards the client (server role)
  std::shared_ptr<const certs::ForgedCert> forged_;
  bool upstream_done_ = false;  // upstream handshake completed (speculative: and confirmed)
  bool speculative_ = false;
  // SHA-256 of the verified upstream leaf forged_ mirrors (all zero: not verified).
  std::array<std::uint8_t, 32> upstream_sha256_{};
  // Where the certificate worker leaves a forged certificate for on_wake. Shared with the
  // worker's callback, so it outlives this handler if the connection closes while forging.
  struct ForgeSlot {
    std::mutex mu;
    std::optional<Result<std::shared_ptr<const certs::ForgedCert>>> result;
    std::shared_ptr<const certs::Bytes> staple;  // made on the worker too when the client asked
  };
  std::shared_ptr<ForgeSlot> forge_slot_;
  std::chrono::steady_clock::time_point forge_queued_at_;
  std::string server_alpn_;

  std::vector<std::uint8_t> client_plain_;  // decrypted, held until detection decides
  std::vector<std::uint8_t> server_plain_;
  bool server_first_expired_ = false;
  std::chrono::steady_clock::time_point client_handshake_done_;  // the pinning window's start
  bool client_closed_ = false;  // client's TLS/TCP end reached (decrypted mode)
  bool server_closed_ = false;
  bool tcp_eof_[2] = {false, false};  // FIN (not just close_notify) seen from each side
  // Raw relay: FIN seen from each side, and which came first (for the close reason).
  bool raw_eof_[2] = {false, false};
  std::optional<relay::Side> first_raw_eof_;
  std::string verdict_reason_;  // the last reason given to the session table
  std::optional<bool> track_compaction_;
  bool decrypted_ = false;   // reached Phase::kDecrypted: the quiet history counts the session
  bool went_quiet_ = false;  // ... and went quiet at least once

  std::unique_ptr<inspect::Inspector> inspector_;
  std::string last_brief_;
  std::chrono::steady_clock::time_point next_publish_{};  // publish_inspection's rate limit
  bool publish_pending_ = false;                          // a change is held back
  std::vector<std::uint8_t> filtered_;
};

}  // namespace wb::intercept
