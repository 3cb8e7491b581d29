// The splice path of the worker, for connections whose handler called relay_untouched(): once a
// side sends a bulk transfer (a receive filled a whole buffer), its bytes go socket -> pipe ->
// socket with splice(2) and never through user space. io_uring only tells when to move them
// (one-shot POLLIN on the source, POLLOUT on a full destination); the splices themselves run
// right here on the worker thread, non-blocking, because IORING_OP_SPLICE is always punted to
// io-wq threads (a thread hand-off per chunk, and a blocked worker thread per idle socket).
// The pipe is the direction's read-ahead bound: reading stops while it is full.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/relay/worker.h"

namespace wb::relay {
namespace {

constexpr std::size_t idx(Side side) {
  return static_cast<std::size_t>(side);
}
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

}  // namespace

bool Worker::open_pipe(SideState& state) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    state.splice = false;  // no descriptor left: stay on the receive path
    return false;
  }
  // The size must be exact: the read-ahead bound assumes it (a full pipe would make the
  // readable source poll again at once).
  if (::fcntl(fds[1], F_SETPIPE_SZ, kPipeBytes) < static_cast<int>(kPipeBytes)) {
    ::close(fds[0]);
    ::close(fds[1]);
    state.splice = false;
    return false;
  }
  state.pipe = {fds[0], fds[1]};
  state.in_pipe = 0;
  return true;
}

void Worker::close_pipe(SideState& state) {
  for (int& fd : state.pipe) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  state.in_pipe = 0;
}

void Worker::arm_poll(std::uint32_t index, Side side, Op op) {
  Connection& c = *slot(index);
  SideState& s = c.side[idx(side)];
  io_uring_sqe* entry = sqe();
  io_uring_prep_poll_add(entry, c.fd[idx(side)], op == Op::kPollIn ? POLLIN | POLLRDHUP : POLLOUT);
  io_uring_sqe_set_data64(entry, tag(op, index, side).encode());
  ++c.pending;
  (op == Op::kPollIn ? s.poll_in_armed : s.poll_out_armed) = true;
}

void Worker::on_poll_in(std::uint32_t index, Side side, bool stale, int result) {
  Connection& c = *slot(index);
  if (stale) return;
  c.side[idx(side)].poll_in_armed = false;
  if (c.closing || result < 0) return;  // cancelled; update_reading re-arms as needed
  splice_in(index, side);
  if (c.in_use && !c.closing) {
    update_reading(index, side);
    check_done(index);
  }
}

void Worker::on_poll_out(std::uint32_t index, Side side, bool stale) {
  Connection& c = *slot(index);
  if (stale) return;
  c.side[idx(side)].poll_out_armed = false;
  flush_pipe(index, side);
}

void Worker::splice_in(std::uint32_t index, Side from) {
  Connection& c = *slot(index);
  SideState& s = c.side[idx(from)];
  // A few rounds per readiness while the source keeps filling the pipe and the destination keeps
  // emptying it: one poll completion then moves more than one pipe's worth.
  for (int round = 0; round < 4; ++round) {
    if (!c.in_use || c.closing || !reading_wanted(c, from) || s.in_pipe >= kPipeBytes) return;
    const std::size_t room = kPipeBytes - s.in_pipe;
    const ssize_t n = ::splice(c.fd[idx(from)], nullptr, s.pipe[1], nullptr, room, kSpliceFlags);
    if (n > 0) {
      s.in_pipe += static_cast<std::uint32_t>(n);
      account(c, from, static_cast<std::uint64_t>(n));
      counters_.spliced.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      flush_pipe(index, other(from));
      if (static_cast<std::size_t>(n) < room) return;  // the socket is drained for now
      continue;
    }
    if (n == 0) {
      side_eof(index, from);
    } else if (errno != EAGAIN && errno != EINTR) {
      const Error error = errno_error("splice from " + std::string(label(from)));
      dispatch(index, [from, &error](Handler& handler, SessionIo& io) {
        handler.on_error(io, from, error);
      });
    }
    return;
  }
}

void Worker::flush_pipe(std::uint32_t index, Side to) {
  Connection& c = *slot(index);
  SideState& source = c.side[idx(other(to))];
  SideState& dest = c.side[idx(to)];
  const int fd = c.fd[idx(to)];
  if (source.in_pipe == 0 || fd < 0 || dest.sending || dest.poll_out_armed) return;
  if (!c.queue[idx(to)].empty()) return;  // bytes queued earlier go first
  if (to == Side::kServer && !c.connected) return;
  if (c.closing && !c.draining) return;
  const ssize_t n = ::splice(source.pipe[0], nullptr, fd, nullptr, source.in_pipe, kSpliceFlags);
  if (n > 0) {
    source.in_pipe -= static_cast<std::uint32_t>(n);
    c.last_activity = now_;
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    const Error error = errno_error("splice to " + std::string(label(to)));
    if (c.closing) return begin_close(index, CloseMode::kReset, "");  // draining failed
    dispatch(index,
             [to, &error](Handler& handler, SessionIo& io) { handler.on_error(io, to, error); });
    return;
  }
  if (source.in_pipe > 0) return arm_poll(index, to, Op::kPollOut);  // `to` reads slower
  maybe_shutdown(index, to);
  if (c.closing) return finish_draining(index);
  update_reading(index, other(to));  // room in the pipe again
  check_done(index);
}

}  // namespace wb::relay
