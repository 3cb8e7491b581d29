// One relay worker: a thread with its own io_uring ring, provided-buffer ring, connection slab
// and chunk pool. Nothing is shared with other workers except the session table (its own lock)
// and, in ListenerMode::kShared, the listening socket.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"
#include "agent/relay/buffer_ring.h"
#include "agent/relay/connection.h"
#include "agent/relay/connection_io.h"
#include "agent/relay/relay.h"
#include "agent/relay/send_queue.h"
#include "agent/relay/user_data.h"
#include "agent/relay/waker.h"

namespace wb::relay {

class Worker {
 public:
  // `listeners` are borrowed: the Relay owns them and closes them after join().
  Worker(unsigned index, const RelayConfig& config, HandlerFactory factory,
         session::SessionTable& table, std::vector<int> listeners);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; returns once its ring is ready (or the error that prevented it).
  Status start();
  void request_stop();
  void join();
  void add_stats(RelayStats& stats) const;

 private:
  friend class ConnectionIo;
  static constexpr std::uint32_t kBlock = 256;
  // Pipe size per spliced direction: what is read ahead of a slower receiver (the bound that
  // replaces the send queue's high watermark on the splice path). Kernel memory, only while full.
  static constexpr std::uint32_t kPipeBytes = 256 * 1024;

  void run(std::promise<Status>& ready);
  Status init_ring();
  io_uring_sqe* sqe();
  void submit_now();

  void handle(const io_uring_cqe& cqe);
  void arm_accept(std::uint32_t listener);
  void on_accept(std::uint32_t listener, int result, unsigned flags);
  void admit(int fd);
  void on_recv(std::uint32_t index, Side side, bool stale, int result, unsigned flags);
  void on_send(std::uint32_t index, Side side, bool stale, int result);
  void on_connect(std::uint32_t index, bool stale, int result);
  void account(Connection& c, Side from, std::uint64_t bytes);
  void side_eof(std::uint32_t index, Side side);

  // Splice path (worker_splice.cpp).
  bool open_pipe(SideState& state);
  void close_pipe(SideState& state);
  void arm_poll(std::uint32_t index, Side side, Op op);
  void on_poll_in(std::uint32_t index, Side side, bool stale, int result);
  void on_poll_out(std::uint32_t index, Side side, bool stale);
  void splice_in(std::uint32_t index, Side from);
  void flush_pipe(std::uint32_t index, Side to);
  void arm_wake();
  void on_wake(int result);
  void on_tick();
  void begin_stop();

  // Connection helpers.
  Connection* slot(std::uint32_t index);
  Result<std::uint32_t> allocate();
  OpTag tag(Op op, std::uint32_t index, Side side) const;
  bool reading_wanted(const Connection& c, Side side) const;
  void update_reading(std::uint32_t index, Side side);
  void flush(std::uint32_t index, Side side);
  void maybe_shutdown(std::uint32_t index, Side side);
  void after_send_progress(std::uint32_t index, Side to);
  template <class Fn>
  void dispatch(std::uint32_t index, Fn&& fn);
  void check_done(std::uint32_t index);
  void begin_close(std::uint32_t index, CloseMode mode, std::string_view reason);
  void finish_draining(std::uint32_t index);
  // `now`: the socket is released before this returns (in-flight operations on it are cancelled
  // and reaped first, so that no kernel reference keeps its port bound).
  void drop_fd(std::uint32_t index, Side side, bool reset, bool now = false);
  void maybe_release(std::uint32_t index);
  void set_state(Connection& connection, session::State state);
  std::int64_t now() const { return now_; }

  const unsigned index_;
  const RelayConfig& config_;
  HandlerFactory factory_;
  session::SessionTable& table_;
  std::vector<int> listeners_;

  io_uring ring_{};
  bool ring_ready_ = false;
  BufferRing buffers_;
  ChunkPool pool_;
  std::shared_ptr<WakeMailbox> mailbox_;  // Wakers and the stop request (waker.h)
  std::uint64_t wake_value_ = 0;          // target of the armed eventfd read
  bool wake_armed_ = false;
  std::vector<WakeMailbox::Mail> mail_;  // drained batch, reused
  __kernel_timespec connect_timeout_{};
  std::vector<bool> accept_armed_;

  std::vector<std::unique_ptr<Connection[]>> blocks_;
  std::vector<std::uint32_t> free_;
  std::uint32_t allocated_ = 0;
  std::uint32_t in_use_ = 0;

  bool stopping_ = false;
  std::int64_t now_ = 0;
  std::int64_t next_tick_ = 0;
  std::int64_t stop_deadline_ = 0;
  std::thread thread_;

  // Statistics, written by the worker thread only, read by anyone.
  struct Counters {
    std::atomic<std::uint64_t> accepted{0}, refused{0}, overflow_tunnelled{0}, closed{0},
        upstream_failed{0}, upstream_port_fallback{0}, from_client{0}, from_server{0}, active{0},
        queued{0}, max_queued{0}, buffer_exhausted{0}, spliced{0};
  } counters_;
};

// Runs one handler callback with the SessionIo view; applies io.close() once it returns.
template <class Fn>
void Worker::dispatch(std::uint32_t index, Fn&& fn) {
  Connection* c = slot(index);
  if (!c->in_use || c->closing || !c->handler) return;
  ConnectionIo io(*this, index);
  ++c->in_callback;
  fn(*c->handler, io);
  --c->in_callback;
  if (c->in_callback == 0 && c->close_requested && !c->closing) {
    begin_close(index, c->close_mode, c->reason);
  }
}

}  // namespace wb::relay
