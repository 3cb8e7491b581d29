#include "agent/intercept/intercept_handler.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "agent/policy/first_bytes.h"
#include "certs/ossl.h"

namespace wb::intercept {

namespace {

// A decrypted session with no byte either way for this long releases its TLS buffers.
constexpr std::chrono::milliseconds kQuietAfter{1000};

// Decrypted records are read into one buffer per worker thread, not per session: a 16 KiB buffer
// in each of 10,000 idle sessions is 160 MiB, and freed per session it leaves holes in the heap
// that keep an idle agent's resident size up. Allocated once (not zero-filled per read). A worker
// runs one handler call at a time, and the bytes are forwarded before the call returns.
std::span<std::uint8_t> worker_scratch() {
  constexpr std::size_t kBytes = 256 * 1024;
  thread_local std::unique_ptr<std::uint8_t[]> scratch(new std::uint8_t[kBytes]);
  return {scratch.get(), kBytes};
}

using relay::CloseMode;
using relay::SessionIo;
using relay::Side;
using session::Protocol;
using session::Verdict;
using Progress = TlsEndpoint::Progress;

policy::Clock::time_point wall_now() {
  return policy::Clock::now();
}
std::int64_t epoch_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

inspect::Direction direction(Side from) {
  return from == Side::kClient ? inspect::Direction::kClientToServer
                               : inspect::Direction::kServerToClient;
}

bool ended(Progress p) {
  return p == Progress::kClosed || p == Progress::kFailed;
}

}  // namespace

InterceptHandler::InterceptHandler(InterceptService& service, const relay::ConnectionInfo& info)
    : svc_(service), info_(info) {
  const auto& od = info.original_destination;
  auto address = policy::IpAddress::from_sockaddr(od.empty() ? nullptr : od.sockaddr_ptr());
  if (address) dst_.address = *address;
  dst_.port = od.port();
}

InterceptHandler::~InterceptHandler() = default;

// ---------------------------------------------------------------------------------------------
// First bytes

void InterceptHandler::on_start(SessionIo& io) {
  io.set_first_bytes_timeout(svc_.options().first_bytes_timeout);
}

void InterceptHandler::on_data(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) {
  switch (phase_) {
    case Phase::kPeek:
      if (from != Side::kClient) return;
      first_.insert(first_.end(), bytes.begin(), bytes.end());
      on_first_bytes(io);
      return;
    case Phase::kRaw:
      relay_raw(io, from, bytes);
      return;
    case Phase::kUpstreamHandshake:
      if (from == Side::kServer) {
        up_->feed(bytes);
        upstream_progress(io);
      } else {
        keep_client_bytes(io, bytes);
      }
      return;
    case Phase::kForging:
      // Kept for later: the server's (tickets, early data) in its TLS endpoint, the client's
      // (in flight before reading paused) for the client leg, or for the replay of a tunnel.
      if (from == Side::kServer) {
        up_->feed(bytes);
      } else if (!keep_client_bytes(io, bytes)) {
        return;
      }
      return;
    case Phase::kClientHandshake:
      if (from == Side::kClient) {
        down_->feed(bytes);
        client_progress(io);
      } else {
        server_bytes(io, bytes);
      }
      return;
    case Phase::kDetect:
      if (from == Side::kClient) {
        down_->feed(bytes);
        read_client_plaintext(io);
      } else {
        server_bytes(io, bytes);
      }
      try_detect(io, false);
      return;
    case Phase::kDecrypted: {
      io.set_first_bytes_timeout(kQuietAfter);  // bytes moved: not quiet yet
      TlsEndpoint* ep = endpoint(from);
      ep->feed(bytes);
      Progress p;
      const std::span<std::uint8_t> scratch = worker_scratch();
      do {
        std::size_t got = 0;
        p = ep->read_into(scratch, got);
        if (!flush(io, from)) return;
        if (!forward_plaintext(io, from, scratch.first(got))) return;
      } while (p == Progress::kDone && phase_ == Phase::kDecrypted);
      if (ended(p) && phase_ == Phase::kDecrypted) decrypted_eof(io, from);
      return;
    }
    case Phase::kDone:
      return;
  }
}

bool InterceptHandler::keep_client_bytes(SessionIo& io, std::span<const std::uint8_t> bytes) {
  // Reading from the client is paused; bytes already in flight are kept (bounded).
  if (first_.size() + bytes.size() > svc_.options().max_peek_bytes + (64 << 10)) {
    fail(io, CloseMode::kReset, "client sent too much before the server answered");
    return false;
  }
  first_.insert(first_.end(), bytes.begin(), bytes.end());
  return true;
}

void InterceptHandler::on_first_bytes(SessionIo& io) {
  const std::size_t max = svc_.options().max_peek_bytes;
  const auto view = std::span<const std::uint8_t>(first_).first(std::min(first_.size(), max));
  const peek::Peek peek = peek::classify_client(view);
  if (peek.need_more()) {
    if (first_.size() < max) {
      // A client that starts a hello and stalls is timed out like one that sends nothing.
      io.set_first_bytes_timeout(svc_.options().first_bytes_timeout);
      return;
    }
    peek::Peek undecided = peek;
    undecided.status = peek::Status::kError;
    undecided.error = "no decision within " + std::to_string(max) + " bytes";
    decide_plaintext(io, undecided);
    return;
  }
  if (!peek.done() || peek.kind != peek::Kind::kTls) {
    decide_plaintext(io, peek);
    return;
  }
  hello_ = peek.hello;
  if (!hello_.sni.empty()) io.set_sni(hello_.sni);
  // What OpenSSL on our client leg cannot speak is tunnelled: breaking it helps nobody.
  if (hello_.sslv2 || hello_.max_version() < 0x0303) {
    svc_.counters().tunnelled.fetch_add(1, std::memory_order_relaxed);
    start_tunnel(io, Protocol::kTunnel, Verdict::kTunnel,
                 hello_.sslv2 ? "SSLv2-compatible hello" : "client offers only TLS < 1.2");
    return;
  }
  const auto decision = svc_.policy().decide_tls(hello_.sni, hello_.alpn, dst_, wall_now());
  switch (decision.kind) {
    case policy::Decision::Kind::kTunnel:
      svc_.counters().tunnelled.fetch_add(1, std::memory_order_relaxed);
      start_tunnel(io, Protocol::kTunnel, Verdict::kTunnel, decision.reason);
      return;
    case policy::Decision::Kind::kDeny:
      deny(io, decision.label, decision.reason);
      return;
    case policy::Decision::Kind::kIntercept:
    case policy::Decision::Kind::kInspect:
      allow_undetected_ = decision.allow_undetected;
      if (!try_speculate(io)) start_upstream_tls(io);
      return;
  }
}

void InterceptHandler::decide_plaintext(SessionIo& io, const peek::Peek& peek) {
  auto decision = svc_.policy().decide_plaintext(policy::first_bytes_kind(peek), dst_);
  if (peek.status == peek::Status::kError && !peek.error.empty()) {
    decision.reason += " (" + peek.error + ")";
  }
  switch (decision.kind) {
    case policy::Decision::Kind::kDeny:
      deny(io, decision.label, decision.reason);
      return;
    case policy::Decision::Kind::kInspect:
      svc_.counters().inspected_plaintext.fetch_add(1, std::memory_order_relaxed);
      make_inspector(io, decision.label, false);
      start_tunnel(io, decision.label, Verdict::kRelay, decision.reason);
      return;
    case policy::Decision::Kind::kTunnel:
    case policy::Decision::Kind::kIntercept:
      svc_.counters().tunnelled.fetch_add(1, std::memory_order_relaxed);
      start_tunnel(io, decision.label, Verdict::kTunnel, decision.reason);
      return;
  }
}

void InterceptHandler::start_tunnel(SessionIo& io, Protocol label, Verdict verdict,
                                    const std::string& reason) {
  record(io, label, verdict, reason);
  phase_ = Phase::kRaw;
  io.set_first_bytes_timeout(std::chrono::milliseconds(0));
  if (!io.upstream_connected()) {
    auto st = io.connect_upstream();
    // EALREADY: a reconnect for tunnel on error is already in flight.
    if (!st && st.error().code != std::errc::connection_already_in_progress) {
      fail(io, CloseMode::kReset, "upstream connect: " + st.error().message());
      return;
    }
  }
  // Bytes queued before the upstream is connected go out once it is (SessionIo::send).
  auto first = std::move(first_);
  first_ = {};
  if (!first.empty()) relay_raw(io, Side::kClient, first);
  if (phase_ != Phase::kRaw) return;
  // Nothing to look at any more: the relay may move the bytes itself (splice, no copy through
  // user space). on_eof and the other callbacks still come, so the close reason stays ours.
  if (!inspector_) io.relay_untouched();
  io.resume_reading(Side::kClient);
}

void InterceptHandler::deny(SessionIo& io, Protocol label, const std::string& reason) {
  svc_.counters().denied.fetch_add(1, std::memory_order_relaxed);
  record(io, label, Verdict::kDeny, reason);
  spdlog::info("{} denied: {} -> {} sni={} {}", session::log_label(label), info_.client.to_string(),
               dst_.to_string(), hello_.sni.empty() ? "-" : hello_.sni, reason);
  fail(io, CloseMode::kGraceful, reason);
}

void InterceptHandler::relay_raw(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) {
  auto out = inspect(io, from, bytes);
  if (!out) return;
  auto st = io.send(relay::other(from), *out);
  if (!st)
    fail(io, CloseMode::kReset,
         "send to " + std::string(relay::label(relay::other(from))) + ": " + st.error().message());
}

// ---------------------------------------------------------------------------------------------
// Upstream leg

Status InterceptHandler::make_upstream() {
  auto up = TlsEndpoint::create(svc_.upstream_ctx(), Role::kClient);
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
  auto down = TlsEndpoint::create(svc_.client_leg_ctx(), Role::kServer);
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
  first_ = {};
  if (upstream_done_) {
    read_server_plaintext(io);  // a server may already have sent data (or tickets)
    if (phase_ != Phase::kClientHandshake) return;
  }
  client_progress(io);
  if (phase_ == Phase::kClientHandshake || phase_ == Phase::kDetect)
    io.resume_reading(Side::kClient);
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
  // Only a verified upstream (its SHA-256 was taken) and a trusted forged certificate.
  if (hints == nullptr || !forged_ || forged_->issuer != certs::IssuerRole::trusted ||
      upstream_sha256_ == std::array<std::uint8_t, 32>{}) {
    return;
  }
  hints->put(hint_key(), SpeculationHint{forged_, upstream_sha256_, server_alpn_},
             std::chrono::steady_clock::now());
}

bool InterceptHandler::try_speculate(SessionIo& io) {
  auto* hints = svc_.speculation_hints();
  if (hints == nullptr) return false;
  auto hint = hints->find(hint_key(), std::chrono::steady_clock::now());
  if (!hint) return false;
  if (!make_upstream()) {
    up_.reset();  // the sequential path tries again and handles the error
    return false;
  }
  speculative_ = true;
  svc_.counters().speculative.fetch_add(1, std::memory_order_relaxed);
  forged_ = std::move(hint->forged);
  server_alpn_ = std::move(hint->server_alpn);
  upstream_sha256_ = hint->upstream_leaf_sha256;
  if (auto st = io.connect_upstream(); !st) {
    fail(io, CloseMode::kReset, "upstream connect: " + st.error().message());
    return true;
  }
  begin_client_leg(io, nullptr);
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

// ---------------------------------------------------------------------------------------------
// Detection

void InterceptHandler::read_client_plaintext(SessionIo& io) {
  const Progress p = down_->read(client_plain_);
  if (!flush(io, Side::kClient)) return;
  if (ended(p)) client_closed_ = true;
}

void InterceptHandler::read_server_plaintext(SessionIo& io) {
  const Progress p = up_->read(server_plain_);
  if (!flush(io, Side::kServer)) return;
  if (ended(p)) server_closed_ = true;
}

void InterceptHandler::try_detect(SessionIo& io, bool server_first) {
  // Speculative: nothing is decided (or forwarded) before the upstream has verified.
  if (phase_ != Phase::kDetect || !upstream_done_) return;
  const std::size_t max = svc_.options().max_peek_bytes;
  peek::Peek peek;
  if (!client_plain_.empty()) {
    peek = peek::classify_client(
        std::span<const std::uint8_t>(client_plain_).first(std::min(client_plain_.size(), max)));
    if (peek.need_more() && client_plain_.size() < max && !client_closed_) return;
  } else {
    if (client_closed_ && server_plain_.empty()) {
      client_left_silently(io);
      return;
    }
    if (server_plain_.empty()) {
      if (server_closed_) fail(io, CloseMode::kGraceful, "server closed before sending data");
      return;
    }
    // The server spoke while the client is silent: wait for the client up to the timeout.
    if (!server_first && !server_first_expired_ && !server_closed_ && !client_closed_) return;
    peek = peek::classify_server(
        std::span<const std::uint8_t>(server_plain_).first(std::min(server_plain_.size(), max)));
    if (peek.need_more() && server_plain_.size() < max && !server_closed_) return;
  }
  const auto decision = svc_.policy().decide_inner(policy::inner_kind(peek), hello_.sni, dst_,
                                                   allow_undetected_, wall_now());
  start_decrypted(io, decision);
}

void InterceptHandler::client_left_silently(SessionIo& io) {
  // The handshake completed and the client left without a byte. Quickly, after offering ALPN:
  // what a pinning client does when it finds our key instead of the one it expects (see
  // InterceptOptions::pinning_window). Otherwise a health check or an idle client: not learned.
  const auto window = svc_.options().pinning_window;
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - client_handshake_done_);
  if (window.count() > 0 && after <= window && !hello_.alpn.empty()) {
    client_rejected(io,
                    "closed " + std::to_string(after.count()) +
                        " ms after the handshake without sending data (pinning)",
                    policy::LearnReason::kClientClosedAfterHandshake);
    return;
  }
  svc_.counters().closed_without_data.fetch_add(1, std::memory_order_relaxed);
  const std::string why = hello_.alpn.empty()   ? "no ALPN offered (a health check?)"
                          : window.count() == 0 ? "pinning detection off"
                                                : "after " + std::to_string(after.count()) + " ms";
  fail(io, CloseMode::kGraceful, "client closed without sending data; not learned: " + why);
}

void InterceptHandler::start_decrypted(SessionIo& io, const policy::Decision& decision) {
  switch (decision.kind) {
    case policy::Decision::Kind::kDeny:
      down_->shutdown();
      flush(io, Side::kClient);
      deny(io, decision.label, decision.reason);
      return;
    case policy::Decision::Kind::kInspect:
      make_inspector(io, decision.label, server_alpn_ == "h2");
      record(io, decision.label, Verdict::kIntercept,
             intercepted_how() + ", " + std::string(session::label(decision.label)) + " inspected");
      break;
    case policy::Decision::Kind::kTunnel:
    case policy::Decision::Kind::kIntercept:
      record(io, decision.label, Verdict::kTunnel, decision.reason);
      break;
  }
  phase_ = Phase::kDecrypted;
  io.set_first_bytes_timeout(kQuietAfter);
  auto client_bytes = std::move(client_plain_);
  auto server_bytes = std::move(server_plain_);
  client_plain_ = {};
  server_plain_ = {};
  if (!forward_plaintext(io, Side::kClient, client_bytes)) return;
  if (!forward_plaintext(io, Side::kServer, server_bytes)) return;
  // Ends seen while detecting are passed on now, in order after the data.
  const bool client_ended = std::exchange(client_closed_, false);
  const bool server_ended = std::exchange(server_closed_, false);
  if (client_ended) decrypted_eof(io, Side::kClient);
  if (server_ended && phase_ == Phase::kDecrypted) decrypted_eof(io, Side::kServer);
}

// ---------------------------------------------------------------------------------------------
// Decrypted relay

bool InterceptHandler::forward_plaintext(SessionIo& io, Side from,
                                         std::span<const std::uint8_t> plain) {
  if (plain.empty()) return true;
  auto out = inspect(io, from, plain);
  if (!out) return false;
  const Side to = relay::other(from);
  if (out->empty()) return true;
  if (auto st = endpoint(to)->write(*out); !st) {
    fail(io, CloseMode::kReset, st.error().message());
    return false;
  }
  return flush(io, to);
}

void InterceptHandler::decrypted_eof(SessionIo& io, Side from) {
  bool& closed = from == Side::kClient ? client_closed_ : server_closed_;
  if (!closed) {
    closed = true;
    if (inspector_) inspector_->on_close(direction(from));
    publish_inspection(io, true);
    const Side to = relay::other(from);
    endpoint(to)->shutdown();  // close_notify, then FIN
    if (!flush(io, to)) return;
    io.shutdown_write(to);
  }
  finish_decrypted(io);
}

// Both close_notify alerts are not yet both FINs. Closing our sockets before a peer's FIN came
// orphans them in FIN_WAIT2 (a timewait socket for tcp_fin_timeout): the datapath no longer
// steers that peer's late FIN to us, and the peer's next SYN from the same port meets the
// FIN_WAIT2 socket, which answers it with an ACK or RST instead of a new connection (a client
// reusing its port stalled until it expired). So wait for both FINs too, bounded by the quiet
// timer (on_timeout), after which we close anyway.
void InterceptHandler::finish_decrypted(SessionIo& io) {
  if (client_closed_ && server_closed_ && tcp_eof_[0] && tcp_eof_[1])
    fail(io, CloseMode::kGraceful, "closed by both sides");
}

void InterceptHandler::on_eof(SessionIo& io, Side from) {
  tcp_eof_[static_cast<int>(from)] = true;
  switch (phase_) {
    case Phase::kPeek:
      if (first_.empty()) {
        fail(io, CloseMode::kGraceful, "client closed before sending data");
        return;
      }
      decide_plaintext(io, peek::classify_client(first_));
      if (phase_ == Phase::kRaw) on_eof(io, from);
      return;
    case Phase::kRaw: {
      if (inspector_) inspector_->on_close(direction(from));
      publish_inspection(io, true);
      io.shutdown_write(relay::other(from));
      raw_eof_[static_cast<int>(from)] = true;
      if (!first_raw_eof_) first_raw_eof_ = from;
      // Both ends finished: close now, with the reason this session was relayed (the relay's
      // own end-of-relay close would say only "client closed").
      if (raw_eof_[0] && raw_eof_[1])
        fail(io, CloseMode::kGraceful, std::string(relay::label(*first_raw_eof_)) + " closed");
      return;
    }
    case Phase::kUpstreamHandshake:
      if (from == Side::kServer) {
        up_->feed_eof();
        upstream_progress(io);
      } else {
        fail(io, CloseMode::kGraceful, "client closed during the upstream handshake");
      }
      return;
    case Phase::kForging:
      if (from == Side::kClient) {
        fail(io, CloseMode::kGraceful, "client closed while its certificate was forged");
      } else {
        up_->feed_eof();  // seen by the client leg's first read of the server
      }
      return;
    case Phase::kClientHandshake:
      if (from == Side::kClient) {
        down_->feed_eof();
        client_progress(io);
      } else if (!upstream_done_) {  // speculative: the upstream handshake fails on it
        up_->feed_eof();
        upstream_progress(io);
      } else {
        fail(io, CloseMode::kGraceful, "server closed during the client handshake");
      }
      return;
    case Phase::kDetect:
      if (from == Side::kServer && !upstream_done_) {
        up_->feed_eof();
        upstream_progress(io);
        return;
      }
      if (from == Side::kClient) {
        down_->feed_eof();
        read_client_plaintext(io);
        client_closed_ = true;
      } else {
        up_->feed_eof();
        read_server_plaintext(io);
        server_closed_ = true;
      }
      try_detect(io, true);
      return;
    case Phase::kDecrypted: {
      TlsEndpoint* ep = endpoint(from);
      ep->feed_eof();
      const std::span<std::uint8_t> scratch = worker_scratch();
      std::size_t got = 0;
      while (ep->read_into(scratch, got) == Progress::kDone && got != 0) {
        if (!forward_plaintext(io, from, scratch.first(got))) return;
      }
      decrypted_eof(io, from);
      return;
    }
    case Phase::kDone:
      return;
  }
}

void InterceptHandler::on_error(SessionIo& io, Side side, const Error& error) {
  if (phase_ == Phase::kDecrypted && client_closed_ && server_closed_) {
    // Both TLS sessions had ended (a peer that closes with our close_notify unread resets).
    fail(io, CloseMode::kGraceful, "closed by both sides");
    return;
  }
  if (side == Side::kServer && speculative_ && !upstream_done_) {
    speculation_failed(io, "upstream error: " + error.message());
    return;
  }
  // A reset on one leg becomes a reset on the other, as if there were no bridge.
  fail(io, CloseMode::kReset, std::string(relay::label(side)) + " error: " + error.message());
}

void InterceptHandler::on_timeout(SessionIo& io, relay::TimeoutKind kind) {
  if (kind == relay::TimeoutKind::kIdle) {
    fail(io, CloseMode::kReset, std::string(relay::label(kind)));
    return;
  }
  switch (phase_) {
    case Phase::kPeek: {
      // Nothing (or no complete hello) from the client: a server-first protocol or a stalled
      // client. Either way it is not TLS we can intercept; the plaintext policy decides.
      peek::Peek peek = peek::classify_client(first_);
      if (peek.need_more()) {
        peek.status = peek::Status::kError;
        peek.error = first_.empty() ? "client silent" : "incomplete first bytes";
      }
      decide_plaintext(io, peek);
      return;
    }
    case Phase::kUpstreamHandshake:
      upstream_failed(io, "timeout", policy::LearnReason::kUpstreamHandshakeFailed);
      return;
    case Phase::kForging:
      // Nothing reached the client yet: it can still get the real server.
      forge_slot_.reset();
      upstream_failed(io, "certificate not forged in time", std::nullopt);
      return;
    case Phase::kClientHandshake:
      fail(io, CloseMode::kGraceful, "client handshake timeout");
      return;
    case Phase::kDetect:
      if (!upstream_done_) {
        speculation_failed(io, "upstream handshake timeout");
        return;
      }
      server_first_expired_ = true;
      try_detect(io, true);
      return;
    case Phase::kDecrypted:
      // Quiet for kQuietAfter: the TLS endpoints give back their grown buffers (an idle
      // intercepted session then holds little more than OpenSSL's own state).
      down_->release_buffers();
      up_->release_buffers();
      publish_inspection(io, true);
      std::vector<std::uint8_t>().swap(filtered_);
      if (client_closed_ && server_closed_) {  // a peer's FIN did not follow its close_notify
        fail(io, CloseMode::kGraceful, "closed by both sides");
      }
      return;
    case Phase::kRaw:
      publish_inspection(io, true);  // the only timer kRaw arms: a held-back inspector change
      return;
    case Phase::kDone:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

TlsEndpoint* InterceptHandler::endpoint(Side side) const {
  return side == Side::kClient ? down_.get() : up_.get();
}

bool InterceptHandler::flush(SessionIo& io, Side to) {
  TlsEndpoint* ep = endpoint(to);
  if (ep == nullptr) return true;
  const auto out = ep->output();
  if (out.empty()) return true;
  auto st = io.send(to, out);
  ep->consume_output();
  if (!st) {
    fail(io, CloseMode::kReset,
         "send to " + std::string(relay::label(to)) + ": " + st.error().message());
    return false;
  }
  return true;
}

void InterceptHandler::make_inspector(SessionIo& /*io*/, Protocol label, bool alpn_h2) {
  auto options = svc_.options().inspectors;
  options.block_quic = svc_.block_quic();
  options.alpn_h2 = alpn_h2;
  auto made = inspect::make_inspector(session::label(label), options);
  if (!made) {
    // No inspector is no reason to break the traffic: it is relayed and the log says why.
    spdlog::warn("{}: no inspector: {}", session::log_label(label), made.error().message());
    return;
  }
  inspector_ = std::move(*made);
}

// The session table shows the inspector's brief and detail. Rebuilding and serialising the detail
// for every record of a download was 6 % of the agent's CPU, so changes are published at most
// every options().inspection_publish_every; a change held back goes out when the session turns
// quiet (kDecrypted's quiet timer, kRaw's own timer), ends or is denied.
void InterceptHandler::publish_inspection(SessionIo& io, bool now) {
  if (!inspector_) return;
  const auto t = std::chrono::steady_clock::now();
  if (!now && t < next_publish_) {
    if (!publish_pending_ && phase_ == Phase::kRaw) {
      io.set_first_bytes_timeout(std::chrono::ceil<std::chrono::milliseconds>(next_publish_ - t));
    }
    publish_pending_ = true;
    return;
  }
  publish_pending_ = false;
  auto brief = inspector_->brief();
  if (brief == last_brief_) return;
  next_publish_ = t + svc_.options().inspection_publish_every;
  io.set_inspection(brief, inspector_->detail());
  last_brief_ = std::move(brief);
}

std::optional<std::span<const std::uint8_t>> InterceptHandler::inspect(
    SessionIo& io, Side from, std::span<const std::uint8_t> in) {
  if (!inspector_) return in;
  inspect::Verdict verdict;
  std::span<const std::uint8_t> out = in;
  if (inspector_->rewrites()) {
    filtered_.clear();
    verdict = inspector_->filter(direction(from), in, filtered_);
    out = filtered_;
  } else {
    verdict = inspector_->on_data(direction(from), in);
  }
  publish_inspection(io, verdict.denied());
  if (verdict.denied()) {
    if (down_) {
      down_->shutdown();
      flush(io, Side::kClient);
    }
    deny(io, session::parse_protocol(inspector_->protocol()).value_or(Protocol::kUnknown),
         "inspector: " + verdict.reason);
    return std::nullopt;
  }
  return out;
}

void InterceptHandler::record(SessionIo& io, Protocol label, Verdict verdict,
                              const std::string& reason) {
  io.set_protocol(label);
  io.set_verdict(verdict, reason);
  verdict_reason_ = reason;
}

std::string InterceptHandler::close_reason(const std::string& how) const {
  if (verdict_reason_.empty() || how == verdict_reason_) return how;
  return verdict_reason_ + "; " + how;
}

void InterceptHandler::fail(SessionIo& io, CloseMode mode, const std::string& how) {
  phase_ = Phase::kDone;
  io.close(mode, close_reason(how));
}

}  // namespace wb::intercept
