// The interception handler (intercept_handler.h): construction, the relay's events and the
// first bytes; the TLS handshakes are in intercept_handshakes.cpp, detection and the decrypted
// relay in intercept_decrypted.cpp.
#include "agent/intercept/intercept_handler.h"

#include <spdlog/spdlog.h>

#include "agent/intercept/handler_support.h"
#include "agent/policy/first_bytes.h"

namespace wb::intercept {

using namespace handler_detail;  // the names below, and the helpers

InterceptHandler::InterceptHandler(InterceptService& service, const relay::ConnectionInfo& info)
    : svc_(service), info_(info) {
  const auto& od = info.original_destination;
  auto address = policy::IpAddress::from_sockaddr(od.empty() ? nullptr : od.sockaddr_ptr());
  if (address) dst_.address = *address;
  dst_.port = od.port();
}

InterceptHandler::~InterceptHandler() {
  note_end();
}

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
  std::vector<std::uint8_t>().swap(first_);  // `first_ = {}` would keep its capacity
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
      // Quiet for kQuietAfter: each TLS leg leaves OpenSSL for the record layer (its SSL
      // object, ~15 KiB, is freed) and the endpoints give back their grown buffers.
      note_quiet();
      if (svc_.options().compact_idle_sessions) {
        compact(*down_, "client");
        compact(*up_, "upstream");
      }
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
