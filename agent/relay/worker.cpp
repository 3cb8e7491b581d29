#include "agent/relay/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "agent/relay/connection_io.h"
#include "agent/relay/listener.h"
#include "agent/relay/plain_handler.h"

namespace wb::relay {
namespace {

constexpr std::size_t idx(Side side) {
  return static_cast<std::size_t>(side);
}
constexpr std::uint16_t kBufferGroup = 0;
constexpr std::int64_t kStopGraceNs = 5'000'000'000;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_ns(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

void refuse(int fd) {
  set_reset_on_close(fd);
  ::close(fd);
}

}  // namespace

Worker::Worker(unsigned index, const RelayConfig& config, HandlerFactory factory,
               session::SessionTable& table, std::vector<int> listeners)
    : index_(index),
      config_(config),
      factory_(std::move(factory)),
      table_(table),
      listeners_(std::move(listeners)),
      pool_(16),  // up to 1 MiB of free 64 KiB chunks kept per worker for the next burst
      accept_armed_(listeners_.size(), false) {
  connect_timeout_.tv_sec = config.timeouts.connect.count() / 1000;
  connect_timeout_.tv_nsec = (config.timeouts.connect.count() % 1000) * 1'000'000;
}

Worker::~Worker() {
  request_stop();
  join();
}

Status Worker::start() {
  std::promise<Status> ready;
  auto result = ready.get_future();
  thread_ = std::thread([this, &ready] { run(ready); });
  Status status = result.get();
  if (!status.ok()) join();
  return status;
}

void Worker::request_stop() {
  if (mailbox_) mailbox_->request_stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::add_stats(RelayStats& stats) const {
  const auto get = [](const std::atomic<std::uint64_t>& v) {
    return v.load(std::memory_order_relaxed);
  };
  stats.accepted += get(counters_.accepted);
  stats.refused += get(counters_.refused);
  stats.overflow_tunnelled += get(counters_.overflow_tunnelled);
  stats.closed += get(counters_.closed);
  stats.upstream_failed += get(counters_.upstream_failed);
  stats.upstream_port_fallback += get(counters_.upstream_port_fallback);
  stats.bytes_from_client += get(counters_.from_client);
  stats.bytes_from_server += get(counters_.from_server);
  stats.active += get(counters_.active);
  stats.queued_bytes += get(counters_.queued);
  stats.max_queued_bytes = std::max(stats.max_queued_bytes, get(counters_.max_queued));
  stats.buffer_exhausted += get(counters_.buffer_exhausted);
  stats.bytes_spliced += get(counters_.spliced);
}

Status Worker::init_ring() {
  WB_TRY_ASSIGN(mailbox_, WakeMailbox::create());
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  params.cq_entries = config_.ring_entries * 8;
  int rc = io_uring_queue_init_params(config_.ring_entries, &ring_, &params);
  if (rc == -EINVAL) {  // an older kernel without the task-run flags
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = config_.ring_entries * 8;
    rc = io_uring_queue_init_params(config_.ring_entries, &ring_, &params);
  }
  if (rc < 0) return errno_error(-rc, "io_uring_queue_init");
  ring_ready_ = true;
  return buffers_.init(&ring_, kBufferGroup, config_.buffer_count, config_.buffer_size);
}

io_uring_sqe* Worker::sqe() {
  io_uring_sqe* entry = io_uring_get_sqe(&ring_);
  while (entry == nullptr) {  // submission queue full: hand what we have to the kernel first
    io_uring_submit(&ring_);
    entry = io_uring_get_sqe(&ring_);
  }
  return entry;
}

void Worker::submit_now() {
  io_uring_submit(&ring_);
}

void Worker::run(std::promise<Status>& ready) {
  if (Status status = init_ring(); !status.ok()) {
    buffers_.release();
    if (ring_ready_) io_uring_queue_exit(&ring_);
    ring_ready_ = false;
    ready.set_value(status.error().wrap("relay worker " + std::to_string(index_)));
    return;
  }
  now_ = steady_ns();
  next_tick_ = now_ + to_ns(config_.timeouts.tick);
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) arm_accept(i);
  arm_wake();
  ready.set_value(Status{});  // `ready` is gone after this line

  while (!(stopping_ && in_use_ == 0)) {
    const std::int64_t wait_ns = std::max<std::int64_t>(next_tick_ - steady_ns(), 1'000'000);
    __kernel_timespec timeout{wait_ns / 1'000'000'000, wait_ns % 1'000'000'000};
    io_uring_cqe* first = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &first, 1, &timeout, nullptr);
    now_ = steady_ns();
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(*cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    if (now_ >= next_tick_) {
      on_tick();
      next_tick_ = now_ + to_ns(config_.timeouts.tick);
    }
    if (stopping_ && now_ >= stop_deadline_) break;  // never hang a stop on a stuck peer
  }

  // Whatever is left (only after the stop grace): the ring exit below cancels its operations.
  for (std::uint32_t i = 0; i < allocated_; ++i) {
    Connection* c = slot(i);
    if (!c->in_use) continue;
    for (Side side : {Side::kClient, Side::kServer}) {
      if (c->fd[idx(side)] >= 0) ::close(c->fd[idx(side)]);
      c->fd[idx(side)] = -1;
    }
    if (c->reason.empty()) c->reason = "agent stopping";
    c->closing = true;
    c->draining = false;
    c->pending = 0;
  }
  mailbox_->close();            // a Waker outliving the worker posts into the void
  io_uring_queue_exit(&ring_);  // waits for every operation: no kernel reference to our memory
  ring_ready_ = false;
  for (std::uint32_t i = 0; i < allocated_; ++i) {
    if (slot(i)->in_use) maybe_release(i);
  }
  buffers_.release();
}

void Worker::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = now_ + kStopGraceNs;
  mailbox_->close();  // every connection is closing: no on_wake from now on
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!accept_armed_[i]) continue;
    io_uring_sqe* cancel = sqe();
    io_uring_prep_cancel64(cancel, OpTag{Op::kAccept, 0, 0, 0, i}.encode(), 0);
    io_uring_sqe_set_data64(cancel, OpTag{Op::kCancel, 0, 0, 0, 0xffffffffu}.encode());
  }
  for (std::uint32_t i = 0; i < allocated_; ++i) {
    if (!slot(i)->in_use) continue;
    begin_close(i, CloseMode::kReset, "agent stopping");
    maybe_release(i);
  }
}

void Worker::arm_accept(std::uint32_t listener) {
  io_uring_sqe* entry = sqe();
  io_uring_prep_multishot_accept(entry, listeners_[listener], nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(entry, OpTag{Op::kAccept, 0, 0, 0, listener}.encode());
  accept_armed_[listener] = true;
}

void Worker::handle(const io_uring_cqe& cqe) {
  const OpTag op = OpTag::decode(cqe.user_data);
  if (op.op == Op::kAccept) return on_accept(op.index, cqe.res, cqe.flags);
  if (op.op == Op::kWake) return on_wake(cqe.res);
  if (op.op == Op::kCancel && op.index == 0xffffffffu) return;  // a listener's cancel

  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  Connection* c = op.index < allocated_ ? slot(op.index) : nullptr;
  if (c == nullptr || !c->in_use || c->generation != op.generation) {
    // Cannot happen while pending counts are right; recycle a buffer rather than leak it.
    if (cqe.flags & IORING_CQE_F_BUFFER) buffers_.recycle(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    spdlog::warn("relay: completion for a released slot {} (op {})", op.index,
                 static_cast<int>(op.op));
    return;
  }
  if (op.op != Op::kRecv || !more) --c->pending;
  const Side side = op.side == 0 ? Side::kClient : Side::kServer;
  const bool stale = side == Side::kServer && op.epoch != c->epoch;
  switch (op.op) {
    case Op::kRecv:
      on_recv(op.index, side, stale, cqe.res, cqe.flags);
      break;
    case Op::kSend:
      on_send(op.index, side, stale, cqe.res);
      break;
    case Op::kConnect:
      on_connect(op.index, stale, cqe.res);
      break;
    case Op::kPollIn:
      on_poll_in(op.index, side, stale, cqe.res);
      break;
    case Op::kPollOut:
      on_poll_out(op.index, side, stale);
      break;
    default:
      break;  // link timeouts and cancels only count as pending
  }
  maybe_release(op.index);
}

void Worker::on_accept(std::uint32_t listener, int result, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) accept_armed_[listener] = false;
  if (result >= 0) {
    admit(result);
  } else if (result != -ECANCELED) {
    spdlog::warn("relay worker {}: accept: {}", index_,
                 std::error_code(-result, std::system_category()).message());
  }
  // Re-armed here unless stopping; after an error (EMFILE) the next tick re-arms instead, so a
  // persistent error cannot spin the loop.
  if (!accept_armed_[listener] && !stopping_ && result >= 0) arm_accept(listener);
}

void Worker::admit(int fd) {
  counters_.accepted.fetch_add(1, std::memory_order_relaxed);
  if (stopping_) return refuse(fd);
  auto local = local_address(fd);
  auto peer = peer_address(fd);
  if (!local.ok() || !peer.ok()) return refuse(fd);  // the client is already gone
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  auto index = allocate();
  if (!index.ok()) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    table_.count_refused();
    return refuse(fd);
  }
  Connection& c = *slot(*index);
  session::Refusal why = session::Refusal::kNone;
  c.entry = table_.open(*peer, *local, &why);
  c.info = ConnectionInfo{c.entry != nullptr ? c.entry->id() : 0, *peer, *local, index_};
  if (c.entry == nullptr) {
    // Either limit (the whole table, or this client's share of it) is handled the same way;
    // the table counted which one it was.
    if (config_.overflow == OverflowAction::kReset) {
      counters_.refused.fetch_add(1, std::memory_order_relaxed);
      c.in_use = false;
      free_.push_back(*index);
      return refuse(fd);
    }
    counters_.overflow_tunnelled.fetch_add(1, std::memory_order_relaxed);
    c.handler = std::make_unique<PlainRelayHandler>(
        why == session::Refusal::kClientLimit ? "client session limit" : "session limit");
  } else {
    c.handler = factory_ ? factory_(c.info) : nullptr;
    if (!c.handler) {
      counters_.refused.fetch_add(1, std::memory_order_relaxed);
      table_.close(c.entry, "refused by handler factory");
      c.entry = nullptr;
      c.in_use = false;
      free_.push_back(*index);
      return refuse(fd);
    }
  }
  ++in_use_;
  counters_.active.fetch_add(1, std::memory_order_relaxed);
  c.fd[0] = fd;
  c.last_activity = now_;
  c.first_bytes_auto = true;
  c.first_bytes_deadline =
      config_.timeouts.first_bytes.count() > 0 ? now_ + to_ns(config_.timeouts.first_bytes) : 0;
  update_reading(*index, Side::kClient);
  dispatch(*index, [](Handler& handler, SessionIo& io) { handler.on_start(io); });
  maybe_release(*index);
}

void Worker::on_recv(std::uint32_t index, Side side, bool stale, int result, unsigned flags) {
  Connection& c = *slot(index);
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  const bool has_buffer = (flags & IORING_CQE_F_BUFFER) != 0;
  const auto buffer_id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  if (stale) {
    if (has_buffer) buffers_.recycle(buffer_id);
    return;
  }
  SideState& state = c.side[idx(side)];
  if (!more) {
    state.recv_armed = false;
    state.recv_cancelling = false;
  }
  if (c.closing) {
    if (has_buffer) buffers_.recycle(buffer_id);
    return;
  }
  if (result > 0) {
    const auto bytes = static_cast<std::uint64_t>(result);
    account(c, side, bytes);
    const auto data = buffers_.buffer(buffer_id, bytes);
    if (c.untouched) {
      // The relay forwards by itself; a full buffer means a bulk transfer: from the next read
      // on, this side goes through the splice path (the receive is cancelled first).
      ConnectionIo io(*this, index);
      if (auto sent = io.send(other(side), data); !sent.ok()) {
        begin_close(index, CloseMode::kReset, sent.error().message());
      }
      if (bytes == config_.buffer_size) state.splice = true;
    } else {
      dispatch(index,
               [side, data](Handler& handler, SessionIo& io) { handler.on_data(io, side, data); });
    }
    buffers_.recycle(buffer_id);  // the handler copied what it keeps
  } else if (result == 0) {
    if (has_buffer) buffers_.recycle(buffer_id);
    side_eof(index, side);
  } else if (result == -ENOBUFS) {
    counters_.buffer_exhausted.fetch_add(1, std::memory_order_relaxed);
  } else if (result != -ECANCELED) {
    const Error error = errno_error(-result, "recv from " + std::string(label(side)));
    dispatch(index, [side, &error](Handler& handler, SessionIo& io) {
      handler.on_error(io, side, error);
    });
  }
  if (c.in_use && !c.closing) {
    update_reading(index, side);
    check_done(index);
  }
}

void Worker::account(Connection& c, Side from, std::uint64_t bytes) {
  c.bytes_from[idx(from)] += bytes;
  c.last_activity = now_;
  auto& counter = from == Side::kClient ? counters_.from_client : counters_.from_server;
  counter.fetch_add(bytes, std::memory_order_relaxed);
  if (c.entry != nullptr) {
    const auto wall = session::Clock::now();
    from == Side::kClient ? c.entry->add_from_client(bytes, wall)
                          : c.entry->add_from_server(bytes, wall);
  }
  if (from == Side::kClient && c.first_bytes_auto) c.first_bytes_deadline = 0;
}

void Worker::side_eof(std::uint32_t index, Side side) {
  Connection& c = *slot(index);
  c.side[idx(side)].eof = true;
  set_state(c, session::State::kHalfClosed);
  if (c.untouched) {  // the relay forwards the FIN itself, once what precedes it is sent
    c.side[idx(other(side))].shutdown_requested = true;
    maybe_shutdown(index, other(side));
  }
  dispatch(index, [side](Handler& handler, SessionIo& io) { handler.on_eof(io, side); });
}

void Worker::on_send(std::uint32_t index, Side side, bool stale, int result) {
  Connection& c = *slot(index);
  if (stale) {  // the send of a dropped upstream: its bytes may be freed now
    c.retired.clear(pool_);
    return;
  }
  SideState& state = c.side[idx(side)];
  state.sending = false;
  if (result > 0) {
    c.queue[idx(side)].consume(pool_, static_cast<std::size_t>(result));
    counters_.queued.fetch_sub(static_cast<std::uint64_t>(result), std::memory_order_relaxed);
    c.last_activity = now_;
  }
  if (c.closing) {
    if (c.draining && result >= 0) {  // graceful close: the rest of the queue still goes out
      flush(index, side);
      maybe_shutdown(index, side);
      finish_draining(index);
    } else if (c.draining) {
      begin_close(index, CloseMode::kReset, "");  // that peer is gone: stop draining
    }
    return;
  }
  if (result < 0 && result != -ECANCELED) {
    const Error error = errno_error(-result, "send to " + std::string(label(side)));
    dispatch(index, [side, &error](Handler& handler, SessionIo& io) {
      handler.on_error(io, side, error);
    });
    return;
  }
  after_send_progress(index, side);
}

void Worker::after_send_progress(std::uint32_t index, Side to) {
  Connection& c = *slot(index);
  SideState& state = c.side[idx(to)];
  flush(index, to);
  flush_pipe(index, to);  // relayed bytes wait for what the queue held before them
  if (!c.in_use || c.closing) return;
  maybe_shutdown(index, to);
  if (state.above_high && c.queue[idx(to)].size() <= config_.queues.low_watermark) {
    state.above_high = false;
    c.side[idx(other(to))].paused_by_backpressure = false;
    update_reading(index, other(to));
    dispatch(index, [to](Handler& handler, SessionIo& io) { handler.on_writable(io, to); });
  }
  if (c.in_use && !c.closing) check_done(index);
}

void Worker::on_connect(std::uint32_t index, bool stale, int result) {
  Connection& c = *slot(index);
  if (stale || c.closing) return;
  c.connecting = false;
  if (result == 0) {
    c.connected = true;
    set_state(c, session::State::kEstablished);
    update_reading(index, Side::kServer);
    flush(index, Side::kServer);
    flush_pipe(index, Side::kServer);  // client bulk spliced while the connect was in flight
    maybe_shutdown(index, Side::kServer);
    dispatch(index, [](Handler& handler, SessionIo& io) { handler.on_upstream_connected(io); });
    return;
  }
  counters_.upstream_failed.fetch_add(1, std::memory_order_relaxed);
  drop_fd(index, Side::kServer, /*reset=*/false);
  const Error error =
      result == -ECANCELED
          ? make_error(std::errc::timed_out,
                       "upstream connect to " + c.upstream_destination.to_string())
          : errno_error(-result, "upstream connect to " + c.upstream_destination.to_string());
  dispatch(index,
           [&error](Handler& handler, SessionIo& io) { handler.on_upstream_failed(io, error); });
}

void Worker::arm_wake() {
  io_uring_sqe* entry = sqe();
  io_uring_prep_read(entry, mailbox_->fd(), &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(entry, OpTag{Op::kWake, 0, 0, 0, 0}.encode());
  wake_armed_ = true;
}

void Worker::on_wake(int result) {
  wake_armed_ = false;
  if (result < 0 && result != -EINTR && result != -EAGAIN) {
    spdlog::warn("relay worker {}: wake read: {}", index_,
                 std::error_code(-result, std::system_category()).message());
  }
  const bool stop = mailbox_->take(mail_);
  if (stop) begin_stop();
  for (const WakeMailbox::Mail& mail : mail_) {
    if (mail.slot >= allocated_) continue;
    const Connection* c = slot(mail.slot);
    // The generation changes when the slot is released (after on_close): a post for a gone
    // connection never reaches the handler that took its slot.
    if (!c->in_use || c->generation != mail.generation) continue;
    const std::uint64_t token = mail.token;
    dispatch(mail.slot, [token](Handler& handler, SessionIo& io) { handler.on_wake(io, token); });
    maybe_release(mail.slot);
  }
  // After an error the next tick re-arms, so a failing read cannot spin the loop.
  if (!stopping_ && result >= 0) arm_wake();
}

void Worker::on_tick() {
  for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
    if (!accept_armed_[i] && !stopping_) arm_accept(i);
  }
  if (!wake_armed_ && !stopping_) arm_wake();
  const std::int64_t idle = to_ns(config_.timeouts.idle);
  for (std::uint32_t i = 0; i < allocated_; ++i) {
    Connection& c = *slot(i);
    if (!c.in_use) continue;
    if (c.closing) {
      if (c.draining && now_ >= c.close_deadline) {
        begin_close(i, CloseMode::kReset, "");  // a peer that never reads is reset
      }
      maybe_release(i);
      continue;
    }
    if (c.first_bytes_deadline != 0 && now_ >= c.first_bytes_deadline) {
      c.first_bytes_deadline = 0;
      dispatch(i, [](Handler& handler, SessionIo& io) {
        handler.on_timeout(io, TimeoutKind::kFirstBytes);
      });
    }
    if (c.in_use && !c.closing && idle > 0 && now_ - c.last_activity >= idle) {
      c.last_activity = now_;
      dispatch(i,
               [](Handler& handler, SessionIo& io) { handler.on_timeout(io, TimeoutKind::kIdle); });
    }
    maybe_release(i);
  }
}

}  // namespace wb::relay
