// What happens to a connection after the relay accepted it is pluggable: the io_uring loop owns
// sockets, buffers, timers and the session table entry; a per-connection Handler decides what to
// do with the bytes. The loop never changes when a new behaviour is added (TLS peek, interception,
// tunnel on error, inspectors): only a new Handler and a new HandlerFactory.
//
// Life of a connection, as a handler sees it (all calls on the connection's worker thread, never
// concurrently, never after on_close):
//
//   factory(info)                 -> the Handler (nullptr: the client is refused with a RST)
//   on_start(io)                  client socket accepted, registered in the session table, reading
//                                 from the client is armed; NO upstream yet: the handler calls
//                                 io.connect_upstream() when it wants one (at once for the plain
//                                 relay, after the ClientHello for interception)
//   on_data(io, side, bytes)      bytes read from `side`; `bytes` is only valid during the call
//                                 (it points into a shared provided buffer that is recycled at
//                                 once), so a handler that needs them later copies them
//   on_upstream_connected(io)     the upstream connect finished; reading from the server is armed
//                                 and bytes queued towards the server are flushed
//   on_upstream_failed(io, err)   connect refused / unreachable / timed out (err.code ETIMEDOUT)
//   on_eof(io, side)              `side` sent FIN (it writes nothing more; it may still read)
//   on_error(io, side, err)       `side` reset the connection (ECONNRESET) or a send/recv failed
//   on_writable(io, to)           the queue towards `to` drained below the low watermark after
//                                 having been above it (for handlers that produce bytes
//                                 themselves, such as a TLS engine)
//   on_timeout(io, kind)          first-bytes or idle timeout expired
//   on_wake(io, token)            another thread posted `token` through io.waker() (see Waker)
//   on_close(summary)             the session is gone; `io` is no longer usable. Always called
//                                 exactly once, also when the relay stops.
//
// A handler acts only through SessionIo. Every SessionIo call may be made from any callback
// above (not from on_close). io.close() inside a callback is deferred to the end of that callback;
// after it every further SessionIo call is a no-op and only on_close follows.
//
// Backpressure is enforced by the loop, not left to handlers: while the queue towards side X is
// above QueueLimits::high_watermark, the loop stops reading from the other side, and resumes below
// low_watermark. send() beyond QueueLimits::hard_limit fails with ENOBUFS (the handler should then
// close). pause_reading()/resume_reading() are the handler's own, independent switch (a peek that
// must not read further until it decided); reading is active only when neither side paused it.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "agent/common/result.h"
#include "agent/session/endpoint.h"
#include "agent/session/session_types.h"

namespace wb::relay {

enum class Side : std::uint8_t { kClient = 0, kServer = 1 };
constexpr Side other(Side side) {
  return side == Side::kClient ? Side::kServer : Side::kClient;
}
constexpr std::string_view label(Side side) {
  return side == Side::kClient ? "client" : "server";
}

// The connect timeout is not here: it reports through on_upstream_failed (ETIMEDOUT).
enum class TimeoutKind : std::uint8_t {
  kFirstBytes,  // nothing arrived from the client within the first-bytes timeout after accept
  kIdle,        // no byte in either direction within the idle timeout
};
constexpr std::string_view label(TimeoutKind kind) {
  return kind == TimeoutKind::kFirstBytes ? "first-bytes timeout" : "idle timeout";
}

enum class CloseMode : std::uint8_t {
  kGraceful,  // flush what is queued towards each side, send FIN, then close (bounded by the
              // idle timeout; a peer that never reads is reset)
  kReset,     // RST both sides now (SO_LINGER 0); queued bytes are dropped
};

// What the relay knows about a connection when it creates the handler.
struct ConnectionInfo {
  std::uint64_t session_id = 0;            // the session table id (0: untracked overflow tunnel)
  session::Endpoint client;                // peer address of the accepted socket
  session::Endpoint original_destination;  // getsockname() of the accepted (transparent) socket
  unsigned worker = 0;                     // index of the worker thread that owns it
};

// Handed to on_close.
struct CloseSummary {
  ConnectionInfo info;
  std::string reason;  // "client closed", "server reset", "idle timeout", ...
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_from_server = 0;
};

class WakeMailbox;  // waker.h: one per worker

// Lets any thread call back into a connection's handler on the connection's worker thread, e.g.
// when a certificate forged on a helper thread is ready: post(token) schedules
// Handler::on_wake(io, token) there. Copyable and thread-safe; holds no pointer to the connection
// (slot index + generation), so a post for a connection that closed in the meantime, or for a
// relay that stopped, is silently dropped, and on_wake never runs after on_close. Posts from one
// thread to one connection arrive in order. A default-constructed Waker drops every post.
class Waker {
 public:
  Waker() = default;
  Waker(std::shared_ptr<WakeMailbox> mailbox, std::uint32_t slot, std::uint16_t generation)
      : mailbox_(std::move(mailbox)), slot_(slot), generation_(generation) {}

  void post(std::uint64_t token) const;
  explicit operator bool() const { return mailbox_ != nullptr; }

 private:
  std::shared_ptr<WakeMailbox> mailbox_;
  std::uint32_t slot_ = 0;
  std::uint16_t generation_ = 0;
};

// The handler's only way to act on its connection. Implemented by the relay loop; unit tests of a
// handler may implement it too.
class SessionIo {
 public:
  virtual ~SessionIo() = default;

  virtual const ConnectionInfo& info() const = 0;

  // ---- output ----
  // Copies `bytes` into the bounded queue towards `to` and sends them in order. Bytes queued for
  // the server before the upstream is connected are sent once it is. Fails with ENOBUFS beyond
  // QueueLimits::hard_limit, ENOTCONN after shutdown_write(to) or close().
  virtual Status send(Side to, std::span<const std::uint8_t> bytes) = 0;
  // Bytes queued towards `to` and not yet accepted by the kernel.
  virtual std::size_t queued(Side to) const = 0;
  // FIN towards `to` once everything queued towards it is sent (half-close).
  virtual void shutdown_write(Side to) = 0;
  // Ends the session (see CloseMode). `reason` goes to the session table and the log line.
  virtual void close(CloseMode mode, std::string_view reason) = 0;

  // ---- upstream ----
  // Opens the upstream connection chosen by the relay's UpstreamResolver (by default: from the
  // client's own address, IP_TRANSPARENT, to the original destination). Completion arrives as
  // on_upstream_connected or on_upstream_failed. EALREADY if one exists or is in flight.
  virtual Status connect_upstream() = 0;
  // Drops the current upstream (RST, queued bytes towards the server discarded, no callback for
  // it) and opens a fresh one, e.g. tunnel on error: replay the client's first bytes to it.
  virtual Status reconnect_upstream() = 0;
  virtual bool upstream_connected() const = 0;

  // ---- input flow (the handler's own switch, see the top of this file) ----
  virtual void pause_reading(Side from) = 0;
  virtual void resume_reading(Side from) = 0;

  // ---- timers ----
  // Re-arms the first-bytes timer from now (0 disarms it); on expiry: on_timeout(kFirstBytes).
  // The relay arms it at accept with RelayConfig's value, and that initial arming is disarmed
  // by the first byte from the client. A timer the handler set stays armed until it fires or
  // the handler sets 0, whatever arrives: handlers use it as their phase timer (hello stalled
  // half-way, handshake, server speaks first).
  virtual void set_first_bytes_timeout(std::chrono::milliseconds timeout) = 0;

  // ---- session table (what `wirebump sessions` and the end-of-session log line show) ----
  virtual void set_protocol(session::Protocol protocol) = 0;
  virtual void set_sni(std::string_view sni) = 0;
  virtual void set_verdict(session::Verdict verdict, std::string_view reason) = 0;
  // An inspector's one-line brief and full state (`wirebump sessions --json`).
  virtual void set_inspection(std::string brief, nlohmann::json detail) = 0;

  // ---- fast path ----
  // The handler no longer needs to see bytes: from now on the relay forwards them itself in both
  // directions (io_uring poll + splice(2) through a pipe per direction for bulk transfers, no
  // copy through user space) and on_data is no longer called. Half-close, resets, backpressure,
  // byte counters, timeouts and every other callback work as before. Irreversible:
  // reconnect_upstream() fails afterwards. Not pure: an implementation without a fast path
  // keeps calling on_data, so a handler keeps forwarding what on_data gives it.
  virtual void relay_untouched() {}

  // ---- latency ----
  // Sends and connects go to the kernel when the worker has handled every event of its current
  // batch. This hands them over now: for bytes a peer waits on (a handshake flight) before more
  // work in the same call. Not pure: without it they leave a little later, nothing is lost.
  virtual void submit_now() {}

  // ---- other threads ----
  // A Waker for this connection (see Waker). Not pure: a test double that never wakes its
  // handler needs no override (the default Waker drops every post).
  virtual Waker waker() { return Waker{}; }
};

class Handler {
 public:
  virtual ~Handler() = default;

  virtual void on_start(SessionIo& io) = 0;
  virtual void on_data(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) = 0;
  virtual void on_eof(SessionIo& io, Side from) = 0;
  virtual void on_upstream_connected(SessionIo& io) = 0;
  virtual void on_upstream_failed(SessionIo& io, const Error& error) = 0;

  // Defaults that suit most handlers: propagate a reset as a reset, close idle sessions, ignore
  // the first-bytes timeout (server-speaks-first protocols) and writability.
  virtual void on_error(SessionIo& io, Side side, const Error& error);
  virtual void on_timeout(SessionIo& io, TimeoutKind kind);
  virtual void on_writable(SessionIo& /*io*/, Side /*to*/) {}
  virtual void on_wake(SessionIo& /*io*/, std::uint64_t /*token*/) {}
  virtual void on_close(const CloseSummary& /*summary*/) {}
};

// Called on a worker thread for each accepted connection, concurrently from several workers:
// it must be thread-safe. nullptr refuses the connection (RST).
using HandlerFactory = std::function<std::unique_ptr<Handler>(const ConnectionInfo&)>;

}  // namespace wb::relay
