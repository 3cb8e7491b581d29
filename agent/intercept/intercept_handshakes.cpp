// The interception handler's TLS handshakes: the upstream leg, the forged client leg, and the
// speculative handshake that runs both at once.
#include <spdlog/spdlog.h>

#include "agent/intercept/handler_support.h"
#include "agent/intercept/intercept_handler.h"
#include "certs/ossl.h"

namespace wb::intercept {

using namespace handler_detail;  // the names below, and the helpers

// ---------------------------------------------------------------------------------------------
// Upstream leg

Status InterceptHandler::make_upstream() {
  auto up = TlsEndpoint::create(svc_.upstream_ctx(track_compaction()), Role::kClient);
  if (!up) return up.error();
  up_ = std::move(*up);
  UpstreamParams params{hello_.sni, hello_.alpn, dst_.address.to_string(), svc_.upstream_sessions(),
                        dst_.to_string()};
  return configure_upstream(*up_, params);
}

void InterceptHandler::start_upstream_tls(SessionIo& io) {
  phase_ = Phase::kUpstreamHandshake;
  io.pause_reading(Side::kClient);
  if (auto st = make_upstream(); !st) {
    if (!up_) {
      fail(io, CloseMode::kReset, st.error().message());
    } else {
      upstream_failed(io, "upstream setup: " + st.error().message(), std::nullopt);
    }
    return;
  }
  // The client is paused, so nothing from it disarms this: it bounds connect + handshake.
  io.set_first_bytes_timeout(svc_.options().handshake_timeout);
  if (auto st = io.connect_upstream(); !st) {
    fail(io, CloseMode::kReset, "upstream connect: " + st.error().message());
  }
}

void InterceptHandler::on_upstream_connected(SessionIo& io) {
  // Sequential: the client waits in kUpstreamHandshake. Speculative: the client leg is already
  // under way (kClientHandshake or kDetect).
  if (up_ && !upstream_done_ && phase_ != Phase::kRaw && phase_ != Phase::kDone)
    upstream_progress(io);
}

void InterceptHandler::upstream_progress(SessionIo& io) {
  const Progress p = up_->handshake();
  if (p == Progress::kFailed) {
    const auto& f = up_->failure();
    if (speculative_) {
      speculation_failed(io, f.kind == TlsFailure::Kind::kClientCertRequested
                                 ? "client certificate requested"
                                 : "upstream handshake failed: " + f.reason);
      return;
    }
    upstream_failed(io, f.reason,
                    f.kind == TlsFailure::Kind::kClientCertRequested
                        ? policy::LearnReason::kClientCertificateRequested
                        : policy::LearnReason::kUpstreamHandshakeFailed);
    return;
  }
  if (!flush(io, Side::kServer)) return;
  if (p != Progress::kDone) return;
  if (speculative_) {
    confirm_speculation(io);
    return;
  }
  upstream_done_ = true;
  start_client_leg(io);
}

// `reason` is taken by value: callers pass text owned by up_, which is reset below.
void InterceptHandler::upstream_failed(SessionIo& io, std::string reason,
                                       std::optional<policy::LearnReason> learn) {
  // Nothing has reached the client yet, so it can still be given the real server untouched.
  if (!svc_.policy().tunnel_on_error()) {
    fail(io, CloseMode::kReset, "upstream TLS failed: " + reason);
    return;
  }
  if (learn) svc_.policy().learn_failure(hello_.sni, dst_, *learn, reason, wall_now());
  // What the session records: "client certificate requested", "upstream handshake failed:
  // alert handshake_failure received", "forge: ...".
  if (learn == policy::LearnReason::kUpstreamHandshakeFailed)
    reason = "upstream handshake failed: " + reason;
  svc_.counters().tunnelled_on_error.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("TUNNEL on error: {} -> {} sni={}: {}", info_.client.to_string(), dst_.to_string(),
               hello_.sni.empty() ? "-" : hello_.sni, reason);
  up_.reset();
  if (auto st = io.reconnect_upstream(); !st) {
    fail(io, CloseMode::kReset, "upstream reconnect: " + st.error().message());
    return;
  }
  start_tunnel(io, Protocol::kTunnel, Verdict::kTunnel, "tunnel on error: " + reason);
}

void InterceptHandler::on_upstream_failed(SessionIo& io, const Error& error) {
  if (speculative_ && !upstream_done_) {
    speculation_failed(io, "upstream connect failed: " + error.message());
    return;
  }
  fail(io, CloseMode::kReset, "upstream connect failed: " + error.message());
}

// ---------------------------------------------------------------------------------------------
// Client leg

namespace {
constexpr std::uint64_t kForgeDone = 1;  // on_wake token: the forge slot holds a result

std::uint64_t ns_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}
}  // namespace

void InterceptHandler::start_client_leg(SessionIo& io) {
  const UpstreamResult upstream = upstream_result(*up_);
  server_alpn_ = upstream.alpn;
  if (up_->resumed()) svc_.counters().upstream_resumed.fetch_add(1, std::memory_order_relaxed);
  if (!upstream.verified) {
    svc_.counters().untrusted_upstreams.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("upstream {} sni={} not verified ({}): untrusted issuer", dst_.to_string(),
                  hello_.sni, upstream.verify_error);
  } else if (svc_.speculation_hints() != nullptr) {
    // What a hint made from this session will be checked against (keep_hint).
    if (auto sha = certs::cert_sha256(upstream.leaf)) upstream_sha256_ = *sha;
  }
  certs::ForgeRequest request;
  request.server_leaf = upstream.leaf;
  request.server_verified = upstream.verified;  // never upgrade an invalid server to trusted
  request.client_accepts = certs::key_types_from_signature_schemes(hello_.signature_algorithms);
  // A cache hit costs a SHA-256 and a lookup here; a miss (signing, maybe an RSA key) goes to
  // the certificate worker so that no other session on this loop waits for it.
  phase_ = Phase::kForging;
  forge_slot_ = std::make_shared<ForgeSlot>();
  forge_queued_at_ = std::chrono::steady_clock::now();
  const std::uint64_t cpu0 = thread_cpu_ns();
  auto hit = svc_.certs().forge_or_queue(
      request, epoch_now(),
      [slot = forge_slot_, waker = io.waker(), certs = &svc_.certs(),
       want_staple = hello_.status_request](Result<std::shared_ptr<const certs::ForgedCert>> r) {
        // On the certificate worker (the service outlives its jobs): a new certificate has no
        // OCSP response cached yet either, and signing one is as costly as the forge.
        std::shared_ptr<const certs::Bytes> staple;
        if (r && want_staple) {
          if (auto made = certs->staple(**r, epoch_now())) staple = *made;
        }
        {
          std::lock_guard lock(slot->mu);
          slot->result = std::move(r);
          slot->staple = std::move(staple);
        }
        waker.post(kForgeDone);  // dropped if the connection is gone
      });
  svc_.record_forge_time(thread_cpu_ns() - cpu0);
  if (hit) {
    forged(io, std::move(hit), nullptr);
    return;
  }
  svc_.counters().forge_queued.fetch_add(1, std::memory_order_relaxed);
}

void InterceptHandler::on_wake(SessionIo& io, std::uint64_t token) {
  if (token != kForgeDone || phase_ != Phase::kForging || !forge_slot_) return;
  std::optional<Result<std::shared_ptr<const certs::ForgedCert>>> result;
  std::shared_ptr<const certs::Bytes> staple;
  {
    std::lock_guard lock(forge_slot_->mu);
    result = std::exchange(forge_slot_->result, std::nullopt);
    staple = std::move(forge_slot_->staple);
  }
  if (!result) return;
  svc_.record_forge_wait(ns_since(forge_queued_at_));
  forged(io, std::move(*result), std::move(staple));
}

void InterceptHandler::forged(SessionIo& io,
                              Result<std::shared_ptr<const certs::ForgedCert>> result,
                              std::shared_ptr<const certs::Bytes> staple) {
  forge_slot_.reset();
  svc_.counters().forged.fetch_add(1, std::memory_order_relaxed);
  if (!result) {
    svc_.counters().forge_errors.fetch_add(1, std::memory_order_relaxed);
    upstream_failed(io, "forge: " + result.error().message(), std::nullopt);
    return;
  }
  forged_ = std::move(*result);
  begin_client_leg(io, std::move(staple));
}

void InterceptHandler::begin_client_leg(SessionIo& io, std::shared_ptr<const certs::Bytes> staple) {
  // Nothing has reached the client yet, so a setup failure can still tunnel (sequential), or
  // at least not leave the client half-answered (speculative).
  const auto setup_failed = [&](const Error& e) {
    if (speculative_) {
      speculation_failed(io, "client leg setup: " + e.message());
    } else {
      upstream_failed(io, "client leg setup: " + e.message(), std::nullopt);
    }
  };
  ClientLegParams params;
  params.cert = forged_->cert.get();
  params.key = forged_->key.get();
  params.issuer = forged_->issuer_cert;
  params.alpn = server_alpn_;
  if (hello_.status_request && !staple) {
    if (auto cached = svc_.certs().staple(*forged_, epoch_now())) staple = *cached;
  }
  if (staple) params.ocsp_staple = *staple;
  auto down = TlsEndpoint::create(svc_.client_leg_ctx(track_compaction()), Role::kServer);
  if (!down) {
    setup_failed(down.error());
    return;
  }
  down_ = std::move(*down);
  if (auto st = configure_client_leg(*down_, params); !st) {
    setup_failed(st.error());
    return;
  }
  phase_ = Phase::kClientHandshake;
  // From here on the client gets our bytes: no tunnel on error for this connection any more.
  down_->feed(first_);
  std::vector<std::uint8_t>().swap(first_);  // `first_ = {}` would keep its capacity
  if (upstream_done_) {
    read_server_plaintext(io);  // a server may already have sent data (or tickets)
    if (phase_ != Phase::kClientHandshake) return;
  }
  client_progress(io);
  if (phase_ == Phase::kClientHandshake || phase_ == Phase::kDetect) {
    io.resume_reading(Side::kClient);
    io.submit_now();  // the flight leaves before any other work of this batch
  }
}

void InterceptHandler::client_progress(SessionIo& io) {
  const Progress p = down_->handshake();
  if (!flush(io, Side::kClient)) return;
  if (p == Progress::kWantMore) {
    io.set_first_bytes_timeout(svc_.options().handshake_timeout);
    return;
  }
  if (p == Progress::kFailed) {
    client_rejected(io, down_->failure().reason, policy::LearnReason::kClientRejectedCertificate);
    return;
  }
  svc_.counters().intercepted.fetch_add(1, std::memory_order_relaxed);
  client_handshake_done_ = std::chrono::steady_clock::now();
  phase_ = Phase::kDetect;
  record(io, Protocol::kUnknown, Verdict::kIntercept, intercepted_how());
  // The client accepted the certificate: the next connection may be answered at once.
  if (!speculative_) keep_hint();
  // Speculative and the upstream still handshaking: it has until the handshake timeout.
  io.set_first_bytes_timeout(upstream_done_ ? svc_.options().server_first_timeout
                                            : svc_.options().handshake_timeout);
  read_client_plaintext(io);
  if (phase_ == Phase::kDetect) try_detect(io, false);
}

std::string InterceptHandler::intercepted_how() const {
  if (forged_->issuer != certs::IssuerRole::trusted) return "intercepted (untrusted upstream)";
  return speculative_ ? "intercepted (speculative handshake)" : "intercepted";
}

void InterceptHandler::client_rejected(SessionIo& io, const std::string& reason,
                                       policy::LearnReason learn) {
  svc_.counters().client_rejected.fetch_add(1, std::memory_order_relaxed);
  std::string why = "client rejected interception: " + reason;
  if (svc_.policy().tunnel_on_error()) {
    svc_.policy().learn_failure(hello_.sni, dst_, learn, reason, wall_now());
    why += "; destination learned, next connections tunnelled";
  }
  spdlog::info("TUNNEL learned: {} -> {} sni={}: {}", info_.client.to_string(), dst_.to_string(),
               hello_.sni.empty() ? "-" : hello_.sni, reason);
  record(io, Protocol::kUnknown, Verdict::kIntercept, why);
  fail(io, CloseMode::kGraceful, why);
}

// ---------------------------------------------------------------------------------------------
// Speculative handshake

std::string InterceptHandler::hint_key() const {
  return SpeculationHints::key(
      dst_.to_string(), hello_.sni, hello_.alpn,
      certs::key_types_from_signature_schemes(hello_.signature_algorithms));
}

void InterceptHandler::drop_hint() {
  if (auto* hints = svc_.speculation_hints()) hints->drop(hint_key());
}

void InterceptHandler::keep_hint() {
  auto* hints = svc_.speculation_hints();
  // Only a verified upstream (its SHA-256 was taken); put() keeps trusted certificates only.
  if (hints == nullptr || upstream_sha256_ == std::array<std::uint8_t, 32>{}) return;
  hints->put(hint_key(), SpeculationHint{forged_, upstream_sha256_, server_alpn_},
             std::chrono::steady_clock::now());
}

bool InterceptHandler::try_speculate(SessionIo& io) {
  auto* hints = svc_.speculation_hints();
  if (hints == nullptr) return false;
  auto hint = hints->find(hint_key(), std::chrono::steady_clock::now());
  if (!hint) return false;
  speculative_ = true;
  svc_.counters().speculative.fetch_add(1, std::memory_order_relaxed);
  forged_ = std::move(hint->forged);
  server_alpn_ = std::move(hint->server_alpn);
  upstream_sha256_ = hint->upstream_leaf_sha256;
  // The client's flight first (handed to the kernel by begin_client_leg): the client verifies
  // it while the upstream connects and handshakes; then the connect, and the upstream's hello
  // queued until it completes.
  begin_client_leg(io, nullptr);
  if (phase_ == Phase::kDone) return true;
  if (auto st = io.connect_upstream(); !st) {
    speculation_failed(io, "upstream connect: " + st.error().message());
    return true;
  }
  if (auto st = make_upstream(); !st) {
    speculation_failed(io, "upstream setup: " + st.error().message());
    return true;
  }
  upstream_progress(io);
  io.submit_now();
  return true;
}

void InterceptHandler::confirm_speculation(SessionIo& io) {
  const UpstreamResult upstream = upstream_result(*up_);
  if (up_->resumed()) svc_.counters().upstream_resumed.fetch_add(1, std::memory_order_relaxed);
  if (!upstream.verified) {
    // The client holds a certificate of the trusted issuer: an unverified server must never be
    // reached through it. The next connection is sequential and gets the untrusted issuer.
    svc_.counters().untrusted_upstreams.fetch_add(1, std::memory_order_relaxed);
    speculation_failed(io, "upstream certificate not verified (" + upstream.verify_error + ")");
    return;
  }
  if (upstream.alpn != server_alpn_) {
    speculation_failed(io, "upstream chose ALPN '" + upstream.alpn + "', the client was given '" +
                               server_alpn_ + "'");
    return;
  }
  upstream_done_ = true;
  // A renewed certificate (verified, the same name): this session goes on, since the forged
  // certificate names the same server from the same issuer; the next one forges again.
  auto sha = certs::cert_sha256(upstream.leaf);
  if (sha && *sha == upstream_sha256_) {
    keep_hint();  // confirmed: kept for another ttl
  } else {
    drop_hint();
  }
  read_server_plaintext(io);  // data (or tickets) the server sent right after its handshake
  if (phase_ != Phase::kDetect) return;
  io.resume_reading(Side::kClient);  // paused if it sent more than detection holds
  io.set_first_bytes_timeout(svc_.options().server_first_timeout);
  try_detect(io, false);
}

void InterceptHandler::speculation_failed(SessionIo& io, std::string reason) {
  svc_.counters().speculative_aborted.fetch_add(1, std::memory_order_relaxed);
  drop_hint();
  spdlog::info("speculative handshake aborted: {} -> {} sni={}: {}", info_.client.to_string(),
               dst_.to_string(), hello_.sni.empty() ? "-" : hello_.sni, reason);
  fail(io, CloseMode::kReset,
       "speculative handshake aborted: " + reason + "; the next connection waits for the upstream");
}

void InterceptHandler::server_bytes(SessionIo& io, std::span<const std::uint8_t> bytes) {
  up_->feed(bytes);
  if (upstream_done_) {
    read_server_plaintext(io);
  } else {
    upstream_progress(io);
  }
}

}  // namespace wb::intercept
