#include "agent/relay/connection_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/relay/listener.h"
#include "agent/relay/worker.h"

namespace wb::relay {
namespace {
constexpr std::size_t idx(Side side) {
  return static_cast<std::size_t>(side);
}
}  // namespace

const ConnectionInfo& ConnectionIo::info() const {
  return worker_.slot(index_)->info;
}

Status ConnectionIo::send(Side to, std::span<const std::uint8_t> bytes) {
  Connection& c = *worker_.slot(index_);
  if (c.closing || c.close_requested || c.side[idx(to)].shutdown_requested) {
    return make_error(std::errc::not_connected, "send to " + std::string(label(to)));
  }
  SendQueue& queue = c.queue[idx(to)];
  if (queue.size() + bytes.size() > worker_.config_.queues.hard_limit) {
    return make_error(std::errc::no_buffer_space, "send to " + std::string(label(to)));
  }
  queue.append(worker_.pool_, bytes);
  worker_.counters_.queued.fetch_add(bytes.size(), std::memory_order_relaxed);
  if (queue.size() > worker_.counters_.max_queued.load(std::memory_order_relaxed)) {
    worker_.counters_.max_queued.store(queue.size(), std::memory_order_relaxed);
  }
  if (queue.size() > worker_.config_.queues.high_watermark && !c.side[idx(to)].above_high) {
    // Backpressure: whoever feeds this queue waits until it drains below the low watermark.
    c.side[idx(to)].above_high = true;
    c.side[idx(other(to))].paused_by_backpressure = true;
  }
  worker_.update_reading(index_, other(to));  // pause, or switch to single-shot receives
  worker_.flush(index_, to);
  return {};
}

std::size_t ConnectionIo::queued(Side to) const {
  return worker_.slot(index_)->queue[idx(to)].size();
}

void ConnectionIo::shutdown_write(Side to) {
  Connection& c = *worker_.slot(index_);
  if (c.closing) return;
  c.side[idx(to)].shutdown_requested = true;
  worker_.maybe_shutdown(index_, to);
}

void ConnectionIo::close(CloseMode mode, std::string_view reason) {
  Connection& c = *worker_.slot(index_);
  if (c.closing) return;
  if (!c.close_requested) c.reason = std::string(reason);
  if (!c.close_requested || mode == CloseMode::kReset) c.close_mode = mode;
  c.close_requested = true;
  if (c.in_callback == 0) worker_.begin_close(index_, c.close_mode, c.reason);
}

Status ConnectionIo::connect_upstream() {
  Connection& c = *worker_.slot(index_);
  if (c.closing || c.close_requested) return make_error(std::errc::not_connected, "closing");
  if (c.fd[1] >= 0) return make_error(std::errc::connection_already_in_progress, "upstream");
  WB_TRY_ASSIGN(UpstreamPlan plan, worker_.config_.upstream(c.info));
  auto opened = open_upstream_socket(plan.destination, plan.source, plan.transparent);
  if (!opened.ok() && opened.error().code == std::errc::address_in_use && !plan.source.empty() &&
      plan.source.port() != 0) {
    // The client's port is still held by one of our sockets (an earlier upstream of a client
    // that reuses its source port, still in TIME_WAIT or FIN_WAIT): the session must not fail
    // for it; the server sees the client's address with a port the kernel picks.
    spdlog::debug("relay: upstream bind {} in use, connecting from a kernel-chosen port",
                  plan.source.to_string());
    worker_.counters_.upstream_port_fallback.fetch_add(1, std::memory_order_relaxed);
    opened = open_upstream_socket(plan.destination, plan.source.with_port(0), plan.transparent);
  }
  WB_TRY_ASSIGN(UniqueFd fd, std::move(opened));
  c.upstream_destination = plan.destination;
  c.fd[1] = fd.release();
  c.connecting = true;
  io_uring_sqe* sqe = worker_.sqe();
  io_uring_prep_connect(sqe, c.fd[1], c.upstream_destination.sockaddr_ptr(),
                        c.upstream_destination.length());
  io_uring_sqe_set_data64(sqe, worker_.tag(Op::kConnect, index_, Side::kServer).encode());
  ++c.pending;
  if (worker_.config_.timeouts.connect.count() > 0) {
    // The kernel cancels the connect when the timeout fires first (-ECANCELED on the connect).
    sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe* timeout = worker_.sqe();
    io_uring_prep_link_timeout(timeout, &worker_.connect_timeout_, 0);
    io_uring_sqe_set_data64(timeout, worker_.tag(Op::kLinkTimeout, index_, Side::kServer).encode());
    ++c.pending;
  }
  worker_.set_state(c, session::State::kConnecting);
  return {};
}

Status ConnectionIo::reconnect_upstream() {
  Connection& c = *worker_.slot(index_);
  if (c.closing || c.close_requested) return make_error(std::errc::not_connected, "closing");
  if (c.untouched) {  // bytes may sit in a pipe towards the old upstream
    return make_error(std::errc::operation_not_permitted, "reconnect after relay_untouched");
  }
  // Closed synchronously (reset, in-flight operations cancelled and reaped first) so that the
  // fresh upstream can bind the same client address and port again.
  if (c.fd[1] >= 0) worker_.drop_fd(index_, Side::kServer, /*reset=*/true, /*now=*/true);
  // Completions of the old upstream carry the old epoch and are ignored from now on.
  c.epoch = static_cast<std::uint8_t>((c.epoch + 1) & 0x7f);
  worker_.counters_.queued.fetch_sub(c.queue[1].size(), std::memory_order_relaxed);
  if (c.side[1].sending) {
    c.queue[1].move_to(c.retired);
  } else {
    c.queue[1].clear(worker_.pool_);
  }
  const bool was_paused = c.side[1].paused_by_handler;
  c.side[1] = SideState{};
  c.side[1].paused_by_handler = was_paused;
  if (c.side[0].paused_by_backpressure) {
    c.side[0].paused_by_backpressure = false;
    worker_.update_reading(index_, Side::kClient);
  }
  c.connected = false;
  c.connecting = false;
  return connect_upstream();
}

bool ConnectionIo::upstream_connected() const {
  return worker_.slot(index_)->connected;
}

void ConnectionIo::pause_reading(Side from) {
  worker_.slot(index_)->side[idx(from)].paused_by_handler = true;
  worker_.update_reading(index_, from);
}

void ConnectionIo::resume_reading(Side from) {
  worker_.slot(index_)->side[idx(from)].paused_by_handler = false;
  worker_.update_reading(index_, from);
}

void ConnectionIo::set_first_bytes_timeout(std::chrono::milliseconds timeout) {
  Connection& c = *worker_.slot(index_);
  c.first_bytes_auto = false;  // the handler's own phase timer: client bytes do not disarm it
  c.first_bytes_deadline =
      timeout.count() > 0
          ? worker_.now() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count()
          : 0;
}

void ConnectionIo::set_protocol(session::Protocol protocol) {
  Connection& c = *worker_.slot(index_);
  if (c.entry != nullptr) worker_.table_.set_protocol(c.entry, protocol);
}

void ConnectionIo::set_sni(std::string_view sni) {
  Connection& c = *worker_.slot(index_);
  if (c.entry != nullptr) worker_.table_.set_sni(c.entry, sni);
}

void ConnectionIo::set_verdict(session::Verdict verdict, std::string_view reason) {
  Connection& c = *worker_.slot(index_);
  if (c.entry != nullptr) worker_.table_.set_verdict(c.entry, verdict, reason);
}

void ConnectionIo::set_inspection(std::string brief, nlohmann::json detail) {
  Connection& c = *worker_.slot(index_);
  if (c.entry != nullptr)
    worker_.table_.set_inspection(c.entry, std::move(brief), std::move(detail));
}

void ConnectionIo::submit_now() {
  worker_.submit_now();
}

void ConnectionIo::relay_untouched() {
  worker_.slot(index_)->untouched = true;
}

Waker ConnectionIo::waker() {
  return Waker(worker_.mailbox_, index_, worker_.slot(index_)->generation);
}

}  // namespace wb::relay
