// Everything the interception handlers of all workers share: the two TLS contexts, the policy,
// the certificates service, the inspector options, timeouts and counters. Thread-safe. The daemon
// creates one and installs factory() as the relay's HandlerFactory:
//
//   auto policy = wb::policy::policy_from_config(cfg);                 //
//   Result<unique_ptr<Policy>> auto icpt = wb::intercept::InterceptService::create(
//       wb::intercept::options_from_config(cfg), **policy, *cert_service);
//   wb::relay::Relay::start(relay_config, (*icpt)->factory(), session_table);
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/intercept/keylog.h"
#include "agent/intercept/ossl_types.h"
#include "agent/intercept/quiet_history.h"
#include "agent/intercept/speculation_hints.h"
#include "agent/intercept/tls_contexts.h"
#include "agent/peek/peek.h"
#include "agent/policy/policy.h"
#include "agent/relay/handler.h"
#include "certs/cert_service.h"
#include "inspectors/factory.h"

namespace wb::intercept {

struct InterceptOptions {
  std::string trust_store = kSystemTrustStore;
  std::string keylog;                                     // "" = no key log
  std::chrono::milliseconds first_bytes_timeout{10'000};  // a client that never finishes its hello
  std::chrono::milliseconds handshake_timeout{15'000};    // each TLS leg
  // After both handshakes the client speaks first; if it stays silent this long, the server's
  // first bytes decide (server-first protocols).
  std::chrono::milliseconds server_first_timeout{500};
  std::size_t max_peek_bytes = peek::kMaxPeekBytes;
  // The pinning signature: a client that completes the handshake with the forged certificate,
  // offered ALPN (it meant to speak an application protocol) and closes within this window
  // without sending a byte is taken as pinning, and the destination is learned. curl
  // --pinnedpubkey does exactly that (close_notify, then FIN: a clean close, so close_notify
  // tells nothing). TLS health checks (`openssl s_client </dev/null`, haproxy check-ssl) offer
  // no ALPN and are not learned; neither is a client idle for longer. 0: never learn from it.
  std::chrono::milliseconds pinning_window{2000};
  // How often an inspector's changing state reaches the session table while bytes flow (see
  // InterceptHandler::publish_inspection); a held-back change goes out when the session is quiet.
  std::chrono::milliseconds inspection_publish_every{250};
  // Upstream TLS sessions kept for resumption (per SNI + destination); 0: none.
  std::size_t upstream_sessions = 4096;
  // Speculative handshake (see speculation_hints.h): a client whose destination was intercepted
  // before is answered with the certificate forged then while the upstream handshake runs.
  bool speculative_handshake = true;
  std::size_t speculation_hints = 4096;
  std::chrono::seconds speculation_ttl{600};
  // Quiet sessions' TLS legs leave OpenSSL for wirebump's record layers (TlsEndpoint::compact).
  bool compact_idle_sessions = true;
  // Busy destinations skip compaction's tracking (quiet_history.h): after this many sessions in
  // a row that closed before going quiet; 0: every session is tracked. Destinations remembered:
  // quiet_history.
  std::uint32_t compact_skip_after = 0;
  std::size_t quiet_history = 4096;
  // Upstream verification successes kept (verify_cache.h); 0: every chain is verified.
  std::size_t verify_cache = 4096;
  std::chrono::seconds verify_cache_ttl{300};
  inspect::Options inspectors;  // sip_deny_malformed, block_quic (alpn_h2 is per session)
};

InterceptOptions options_from_config(const config::Config& cfg);

// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ns: what the loop thread itself
// spends, without the time it was descheduled (wall time on a loaded machine says little).
std::uint64_t thread_cpu_ns();

struct InterceptStats {
  std::uint64_t sessions = 0;
  std::uint64_t intercepted = 0;         // both handshakes completed
  std::uint64_t tunnelled = 0;           // relayed untouched (policy, learned, detection off)
  std::uint64_t tunnelled_on_error = 0;  // upstream handshake failed -> replayed and relayed
  std::uint64_t client_rejected = 0;     // client refused the forged certificate / pinned
  std::uint64_t closed_without_data =
      0;                     // handshake done, left silently, not the pinning signature
  std::uint64_t denied = 0;  // by rule, undetected protocol, inspector
  std::uint64_t inspected_plaintext = 0;  // SIP / MS-TURN / STUN / HTTP without TLS
  std::uint64_t forged = 0;
  std::uint64_t forge_errors = 0;
  std::uint64_t forge_ns_total = 0;  // loop-thread CPU time getting forged certificates
  std::uint64_t forge_ns_max = 0;
  std::uint64_t forge_queued = 0;         // cache misses forged on the certificate worker
  std::uint64_t forge_wait_ns_total = 0;  // wall time from queueing to resuming on the loop
  std::uint64_t forge_wait_ns_max = 0;
  std::uint64_t untrusted_upstreams = 0;  // upstream certificate did not verify
  std::uint64_t upstream_resumed = 0;     // upstream handshakes that resumed a kept session
  std::uint64_t speculative = 0;          // client answered while the upstream handshake ran
  std::uint64_t speculative_aborted = 0;  // ... and the upstream then failed or did not match
  std::uint64_t verify_cache_hits = 0;    // upstream chains whose kept verification was used
  std::uint64_t verify_cache_misses = 0;  // ... verified by OpenSSL
  std::uint64_t compacted = 0;  // TLS legs handed from OpenSSL to the record layer when quiet
  // Intercepted sessions whose legs skipped compaction's tracking (a busy destination), and
  // those of them that went quiet all the same (they stay on OpenSSL: what the skip cost).
  std::uint64_t untracked = 0;
  std::uint64_t untracked_quiet = 0;
};
nlohmann::json to_json(const InterceptStats& stats);

class InterceptService {
 public:
  static Result<std::unique_ptr<InterceptService>> create(InterceptOptions options,
                                                          policy::Policy& policy,
                                                          certs::CertService& certs);

  // One InterceptHandler per accepted connection.
  relay::HandlerFactory factory();

  InterceptStats stats() const;

  // ---- for the handlers ----
  const InterceptOptions& options() const { return options_; }
  // QUIC blocking as it is now: the config's block_quic at start, then `wirebump quic
  // block|allow` (the control handler sets it beside the kernel's switch). Read when a session's
  // inspector is made, so a change applies to new sessions and running ones keep their state.
  bool block_quic() const { return block_quic_.load(std::memory_order_relaxed); }
  void set_block_quic(bool block) { block_quic_.store(block, std::memory_order_relaxed); }
  policy::Policy& policy() { return policy_; }
  certs::CertService& certs() { return certs_; }
  // Each leg's context, with compaction's tracking (the key-log and message callbacks) or
  // without it; the same context for both when compaction is off or a key-log file is written.
  SSL_CTX* upstream_ctx(bool tracked) const { return upstream_ctx_[tracked].get(); }
  SSL_CTX* client_leg_ctx(bool tracked) const { return client_leg_ctx_[tracked].get(); }
  // Null when every session is tracked alike (see upstream_ctx).
  QuietHistory* quiet_history() const { return quiet_history_.get(); }
  UpstreamSessions* upstream_sessions() const { return upstream_sessions_.get(); }
  // Null when the speculative handshake is off.
  SpeculationHints* speculation_hints() const { return hints_.get(); }

  struct Counters {
    std::atomic<std::uint64_t> sessions{0}, intercepted{0}, tunnelled{0}, tunnelled_on_error{0},
        client_rejected{0}, closed_without_data{0}, denied{0}, inspected_plaintext{0}, forged{0},
        forge_errors{0}, forge_ns_total{0}, forge_ns_max{0}, forge_queued{0},
        forge_wait_ns_total{0}, forge_wait_ns_max{0}, untrusted_upstreams{0}, upstream_resumed{0},
        speculative{0}, speculative_aborted{0}, compacted{0}, untracked{0}, untracked_quiet{0};
  };
  Counters& counters() { return counters_; }
  void record_forge_time(std::uint64_t ns);
  void record_forge_wait(std::uint64_t ns);

 private:
  InterceptService(InterceptOptions options, policy::Policy& policy, certs::CertService& certs)
      : options_(std::move(options)),
        policy_(policy),
        certs_(certs),
        block_quic_(options_.inspectors.block_quic) {}

  InterceptOptions options_;
  policy::Policy& policy_;
  certs::CertService& certs_;
  std::shared_ptr<UpstreamSessions> upstream_sessions_;
  std::unique_ptr<SpeculationHints> hints_;
  std::shared_ptr<VerifyCache> verify_cache_;
  std::unique_ptr<QuietHistory> quiet_history_;
  // [0] untracked, [1] tracked: two references to one context when they are the same.
  SslCtxPtr upstream_ctx_[2];
  SslCtxPtr client_leg_ctx_[2];
  Counters counters_;
  std::atomic<bool> block_quic_;
};

}  // namespace wb::intercept
