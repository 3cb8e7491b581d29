// The connection half of the worker: slab slots, reading / sending state, and teardown.
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/relay/listener.h"
#include "agent/relay/worker.h"

namespace wb::relay {
namespace {

constexpr std::size_t idx(Side side) {
  return static_cast<std::size_t>(side);
}

void reset_connection(Connection& c) {
  c.epoch = 0;
  c.pending = 0;
  c.fd = {-1, -1};
  c.side = {};
  c.bytes_from = {0, 0};
  c.untouched = c.connecting = c.connected = c.closing = c.draining = c.close_requested = false;
  c.close_mode = CloseMode::kGraceful;
  c.in_callback = 0;
  c.first_eof = -1;
  c.first_bytes_deadline = c.last_activity = c.close_deadline = 0;
  c.first_bytes_auto = false;
  c.handler.reset();
  c.entry = nullptr;
  c.info = ConnectionInfo{};
  c.upstream_destination = session::Endpoint{};
  c.reason = std::string();  // releases a long reason's heap buffer too
}

}  // namespace

Connection* Worker::slot(std::uint32_t index) {
  return &blocks_[index / kBlock][index % kBlock];
}

Result<std::uint32_t> Worker::allocate() {
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else if (allocated_ < config_.slots_per_worker) {
    // Slab blocks are allocated on demand and never move: Connection pointers stay valid.
    if (allocated_ % kBlock == 0) blocks_.push_back(std::make_unique<Connection[]>(kBlock));
    index = allocated_++;
  } else {
    return make_error(std::errc::too_many_files_open, "relay worker slab full");
  }
  slot(index)->in_use = true;
  return index;
}

OpTag Worker::tag(Op op, std::uint32_t index, Side side) const {
  const Connection& c = const_cast<Worker*>(this)->slot(index)[0];
  return OpTag{op, static_cast<std::uint8_t>(side),
               side == Side::kServer ? c.epoch : std::uint8_t{0}, c.generation, index};
}

void Worker::set_state(Connection& c, session::State state) {
  if (c.entry != nullptr) table_.set_state(c.entry, state);
}

bool Worker::reading_wanted(const Connection& c, Side side) const {
  const SideState& s = c.side[idx(side)];
  return c.in_use && !c.closing && c.fd[idx(side)] >= 0 && (side == Side::kClient || c.connected) &&
         !s.eof && !s.paused_by_handler && !s.paused_by_backpressure;
}

void Worker::update_reading(std::uint32_t index, Side side) {
  Connection& c = *slot(index);
  SideState& s = c.side[idx(side)];
  const int fd = c.fd[idx(side)];
  bool want = reading_wanted(c, side);
  if (c.untouched && s.splice) {
    if (!s.recv_armed && (s.pipe[0] >= 0 || open_pipe(s))) {
      // Poll + splice; the pipe bounds what is read ahead of the other side.
      if (want && !s.poll_in_armed && s.in_pipe < kPipeBytes) arm_poll(index, side, Op::kPollIn);
      return;
    }
    // A receive is still armed: cancel it; its final completion comes back here.
    if (s.recv_armed) want = false;
  }
  // Multishot while the bytes we read leave at once (the queue they go to is short: idle and
  // interactive sessions cost no resubmission). Once that queue grows, one buffer per receive:
  // a multishot receive can complete a whole batch of buffers before a pause takes effect,
  // single shots overshoot the high watermark by at most one buffer.
  const bool busy = c.queue[idx(other(side))].size() >= config_.queues.low_watermark;
  if (want && !s.recv_armed) {
    io_uring_sqe* entry = sqe();
    if (busy) {
      io_uring_prep_recv(entry, fd, nullptr, config_.buffer_size, 0);
    } else {
      io_uring_prep_recv_multishot(entry, fd, nullptr, 0, 0);
    }
    entry->flags |= IOSQE_BUFFER_SELECT;
    entry->buf_group = buffers_.group();
    io_uring_sqe_set_data64(entry, tag(Op::kRecv, index, side).encode());
    ++c.pending;
    s.recv_armed = true;
    s.recv_multishot = !busy;
    s.recv_cancelling = false;
  } else if (s.recv_armed && !s.recv_cancelling && fd >= 0 &&
             (!want || (s.recv_multishot && busy))) {
    // A multishot receive cannot be paused: cancel it; the final completion re-arms as needed.
    io_uring_sqe* entry = sqe();
    io_uring_prep_cancel64(entry, tag(Op::kRecv, index, side).encode(), 0);
    io_uring_sqe_set_data64(entry, tag(Op::kCancel, index, side).encode());
    ++c.pending;
    s.recv_cancelling = true;
  }
}

void Worker::flush(std::uint32_t index, Side side) {
  Connection& c = *slot(index);
  SideState& s = c.side[idx(side)];
  const int fd = c.fd[idx(side)];
  if (s.sending || fd < 0 || c.queue[idx(side)].empty()) return;
  if (side == Side::kServer && !c.connected) return;
  if (c.closing && !c.draining) return;
  const auto front = c.queue[idx(side)].front();
  io_uring_sqe* entry = sqe();
  io_uring_prep_send(entry, fd, front.data(), front.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(entry, tag(Op::kSend, index, side).encode());
  ++c.pending;
  s.sending = true;
}

void Worker::maybe_shutdown(std::uint32_t index, Side side) {
  Connection& c = *slot(index);
  SideState& s = c.side[idx(side)];
  const int fd = c.fd[idx(side)];
  if (!s.shutdown_requested || s.shutdown_done || s.sending || fd < 0) return;
  if (!c.queue[idx(side)].empty() || (side == Side::kServer && !c.connected)) return;
  if (c.side[idx(other(side))].in_pipe != 0) return;  // relayed bytes still in the pipe
  ::shutdown(fd, SHUT_WR);                            // FIN; the other direction keeps flowing
  s.shutdown_done = true;
}

void Worker::check_done(std::uint32_t index) {
  Connection& c = *slot(index);
  if (c.closing || !c.in_use) return;
  if (c.first_eof < 0) {
    if (c.side[0].eof) c.first_eof = 0;
    if (c.side[1].eof) c.first_eof = 1;
  }
  for (const std::size_t s : {0u, 1u}) {
    if (!c.side[s].eof || !c.queue[1 - s].empty() || c.side[1 - s].sending ||
        c.side[s].in_pipe != 0) {
      return;
    }
  }
  begin_close(index, CloseMode::kGraceful, c.first_eof == 1 ? "server closed" : "client closed");
}

void Worker::begin_close(std::uint32_t index, CloseMode mode, std::string_view reason) {
  Connection& c = *slot(index);
  if (!c.in_use) return;
  const bool escalate = c.closing && c.draining && mode == CloseMode::kReset;
  if (c.closing && !escalate) return;
  c.close_requested = false;
  if (c.reason.empty()) c.reason = std::string(reason);
  c.closing = true;
  set_state(c, session::State::kClosing);
  if (mode == CloseMode::kGraceful) {
    c.draining = true;
    const auto bound = config_.timeouts.idle.count() > 0 ? config_.timeouts.idle
                                                         : std::chrono::milliseconds(10'000);
    c.close_deadline = now_ + std::chrono::duration_cast<std::chrono::nanoseconds>(bound).count();
    update_reading(index, Side::kClient);  // cancels the receives
    update_reading(index, Side::kServer);
    if (!c.connected) drop_fd(index, Side::kServer, /*reset=*/true);  // connect in flight
    for (Side side : {Side::kClient, Side::kServer}) {
      c.side[idx(side)].shutdown_requested = true;
      flush(index, side);
      flush_pipe(index, side);
      maybe_shutdown(index, side);
    }
    finish_draining(index);
    return;
  }
  c.draining = false;
  drop_fd(index, Side::kClient, /*reset=*/true);
  drop_fd(index, Side::kServer, /*reset=*/true);
}

void Worker::finish_draining(std::uint32_t index) {
  Connection& c = *slot(index);
  if (!c.draining) return;
  for (Side side : {Side::kClient, Side::kServer}) {
    if (c.fd[idx(side)] < 0) continue;
    if (c.side[idx(side)].sending || !c.queue[idx(side)].empty()) return;
    if (c.side[idx(other(side))].in_pipe != 0) return;
    maybe_shutdown(index, side);
  }
  c.draining = false;
  drop_fd(index, Side::kClient, /*reset=*/false);
  drop_fd(index, Side::kServer, /*reset=*/false);
}

void Worker::drop_fd(std::uint32_t index, Side side, bool reset, bool now) {
  Connection& c = *slot(index);
  const int fd = c.fd[idx(side)];
  if (fd < 0) return;
  if (reset) set_reset_on_close(fd);
  // Cancel everything in flight on this socket; each cancelled operation still completes (and is
  // counted in `pending`), and holds its own file reference until then, so closing the number
  // right after the submission is safe: the kernel resolved the file during the submit.
  io_uring_sqe* entry = sqe();
  io_uring_prep_cancel_fd(entry, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(entry, tag(Op::kCancel, index, side).encode());
  ++c.pending;
  submit_now();
  // With deferred task running the cancelled requests (and their file references) are freed
  // only when the task work runs: run it now. Their completions stay queued for the loop.
  if (now) io_uring_get_events(&ring_);
  ::close(fd);
  c.fd[idx(side)] = -1;
}

void Worker::maybe_release(std::uint32_t index) {
  Connection& c = *slot(index);
  if (!c.in_use || !c.closing || c.draining || c.in_callback != 0 || c.pending != 0) return;
  if (c.fd[0] >= 0 || c.fd[1] >= 0) return;
  const std::uint64_t queued = c.queue[0].size() + c.queue[1].size();
  counters_.queued.fetch_sub(queued, std::memory_order_relaxed);
  c.queue[0].clear(pool_);
  c.queue[1].clear(pool_);
  c.retired.clear(pool_);
  close_pipe(c.side[0]);
  close_pipe(c.side[1]);
  // Counted before the table entry goes, so that "not in the table" implies "counted closed".
  counters_.closed.fetch_add(1, std::memory_order_relaxed);
  counters_.active.fetch_sub(1, std::memory_order_relaxed);
  const CloseSummary summary{c.info, c.reason, c.bytes_from[0], c.bytes_from[1]};
  if (auto handler = std::move(c.handler)) handler->on_close(summary);
  if (c.entry != nullptr) {
    table_.close(c.entry, c.reason);
  } else {
    session::SessionRecord record;
    record.client = c.info.client;
    record.server = c.info.original_destination;
    record.protocol = session::Protocol::kTunnel;
    record.verdict = session::Verdict::kTunnel;
    record.reason = c.reason + " (untracked: session limit)";
    record.bytes_from_client = c.bytes_from[0];
    record.bytes_from_server = c.bytes_from[1];
    spdlog::info("{}", session::end_line(record, std::chrono::nanoseconds(0)));
  }
  const std::uint16_t generation = static_cast<std::uint16_t>(c.generation + 1);
  reset_connection(c);
  c.generation = generation;
  c.in_use = false;
  free_.push_back(index);
  --in_use_;
}

}  // namespace wb::relay
