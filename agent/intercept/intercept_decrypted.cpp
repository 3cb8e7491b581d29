// The interception handler after both handshakes: detection of the protocol inside, the
// decrypted relay and the inspectors.
#include <spdlog/spdlog.h>

#include "agent/intercept/handler_support.h"
#include "agent/intercept/intercept_handler.h"
#include "agent/policy/first_bytes.h"

namespace wb::intercept {

using namespace handler_detail;  // the names below, and the helpers

// ---------------------------------------------------------------------------------------------
// Detection

void InterceptHandler::read_client_plaintext(SessionIo& io) {
  const Progress p = down_->read(client_plain_);
  if (!flush(io, Side::kClient)) return;
  if (ended(p)) client_closed_ = true;
  // Speculative, the upstream still handshaking: what the client sends is held, up to what
  // detection could use; then it waits (confirm_speculation resumes it).
  if (!upstream_done_ && client_plain_.size() >= svc_.options().max_peek_bytes)
    io.pause_reading(Side::kClient);
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
  decrypted_ = true;
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
    // Held back like any change: the session usually ends right after (its entry goes, and the
    // end-of-session line does not show the inspector); a half-closed one publishes it when
    // quiet.
    publish_inspection(io, false);
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

void InterceptHandler::compact(TlsEndpoint& leg, const char* which) {
  if (leg.compacted()) return;
  std::string_view why;
  if (leg.compact(why)) {
    svc_.counters().compacted.fetch_add(1, std::memory_order_relaxed);
  } else {
    spdlog::debug("{} {} leg stays on OpenSSL: {}", dst_.to_string(), which, why);
  }
}

bool InterceptHandler::track_compaction() {
  if (!track_compaction_) {
    auto* history = svc_.quiet_history();
    track_compaction_ = history != nullptr ? history->should_track(quiet_key())
                                           : svc_.options().compact_idle_sessions;
    if (history != nullptr && !*track_compaction_) {
      svc_.counters().untracked.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return *track_compaction_;
}

void InterceptHandler::note_quiet() {
  // A session waiting only for its peers' FINs is ending, not quiet.
  if (went_quiet_ || client_closed_ || server_closed_) return;
  went_quiet_ = true;
  auto* history = svc_.quiet_history();
  if (history == nullptr) return;
  history->went_quiet(quiet_key());
  if (track_compaction_ == false) {
    svc_.counters().untracked_quiet.fetch_add(1, std::memory_order_relaxed);
  }
}

void InterceptHandler::note_end() {
  auto* history = svc_.quiet_history();
  if (history != nullptr && decrypted_ && !went_quiet_) history->ended_busy(quiet_key());
}

std::string InterceptHandler::quiet_key() const {
  return UpstreamSessions::key(hello_.sni, dst_.to_string());
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
  // The first publish waits like every later one: a session shorter than that (most HTTPS
  // connections) never builds its detail, which nobody could have read (~2.5 % of the CPU per
  // new connection). A longer one shows within inspection_publish_every while bytes flow, or
  // at the quiet timer.
  next_publish_ = std::chrono::steady_clock::now() + svc_.options().inspection_publish_every;
}

// The session table shows the inspector's brief and detail. Rebuilding and serialising the detail
// for every record of a download was 6 % of the agent's CPU, so changes are published at most
// every options().inspection_publish_every, the first one too (make_inspector); a change held
// back goes out when the session turns quiet (kDecrypted's quiet timer, kRaw's own timer), when
// a plaintext session ends, or at once when the inspector denies.
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

}  // namespace wb::intercept
