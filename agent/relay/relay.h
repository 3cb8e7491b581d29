// The relay: N worker threads, one io_uring ring each, accepting steered connections on
// transparent listeners and running one Handler per connection (handler.h). The daemon creates it
// with Relay::start(), registers listener_fd_for_steering() in the datapath's SOCKMAP, reads
// stats() and the SessionTable for the control socket, and calls stop() on SIGTERM.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"
#include "agent/relay/handler.h"
#include "agent/relay/upstream.h"
#include "agent/session/endpoint.h"
#include "agent/session/session_table.h"

namespace wb::relay {

struct Timeouts {
  std::chrono::milliseconds connect{10'000};      // upstream connect (io_uring link timeout)
  std::chrono::milliseconds first_bytes{10'000};  // accept -> first byte from the client
  std::chrono::milliseconds idle{300'000};        // no byte either way
  std::chrono::milliseconds tick{100};            // resolution of first-bytes and idle timers
};

// Per connection and direction. Reading the side that feeds a queue pauses above the high
// watermark. Receives are multishot while the queue is short and one buffer at a time once it
// grows, but a multishot receive may already have completed a batch of buffers when the pause
// is decided: at most the whole buffer ring (buffer_count * buffer_size) in one batch, shared by
// all connections of the worker. So hard_limit must be >= high_watermark + that (start()
// checks), and the steady state per direction is <= high_watermark + buffer_size.
struct QueueLimits {
  std::size_t high_watermark = 256 * 1024;   // stop reading the feeding side above this
  std::size_t low_watermark = 64 * 1024;     // resume (and multishot again) below this
  std::size_t hard_limit = 8 * 1024 * 1024;  // send() fails with ENOBUFS beyond this
};

// What happens to a connection that arrives while the session table is full.
enum class OverflowAction : std::uint8_t {
  kReset,   // refused with a RST (counted: RelayStats::refused)
  kTunnel,  // relayed untouched by a PlainRelayHandler, not in the session table
            // (counted: RelayStats::overflow_tunnelled); the worker's slab still bounds it
};

enum class ListenerMode : std::uint8_t {
  // One listener per worker in one SO_REUSEPORT group (the default; see listener.cpp for the
  // measurement that chose it). bpf_sk_assign to any member picks within the group (Linux >= 6.5).
  kReusePortPerWorker,
  // One listener shared by every worker's multishot accept.
  kShared,
};

struct RelayConfig {
  // Addresses of the listeners (port 0: the kernel picks; see listener_address()). The daemon
  // uses e.g. 127.0.0.1:0 and [::1]:0 and steers SYNs to them with bpf_sk_assign.
  std::vector<session::Endpoint> listen;
  bool transparent_listener = true;  // IP_TRANSPARENT (needed to accept foreign destinations)
  ListenerMode listener_mode = ListenerMode::kReusePortPerWorker;
  unsigned workers = 0;  // 0: one per CPU
  unsigned backlog = 4096;

  std::size_t slots_per_worker = 65'536;  // hard cap of connections one worker holds
  unsigned ring_entries = 1024;           // submission queue size (completion queue is 8x)
  unsigned buffer_count = 128;            // provided receive buffers per worker (power of two)
  unsigned buffer_size = 32 * 1024;       // bytes per provided buffer (4 MiB ring: see bench)

  Timeouts timeouts;
  QueueLimits queues;
  OverflowAction overflow = OverflowAction::kReset;
  UpstreamResolver upstream = transparent_upstream();
};

// Counters summed over workers. Monotonic unless marked "now".
struct RelayStats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;             // RST because the table or a slab was full / no handler
  std::uint64_t overflow_tunnelled = 0;  // OverflowAction::kTunnel
  std::uint64_t closed = 0;
  std::uint64_t upstream_failed = 0;
  std::uint64_t upstream_port_fallback = 0;  // the client's port was in use: kernel-chosen port
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_from_server = 0;
  std::uint64_t active = 0;            // now: connections held
  std::uint64_t queued_bytes = 0;      // now: bytes in all send queues
  std::uint64_t max_queued_bytes = 0;  // high-water mark of one direction of one connection
  std::uint64_t buffer_exhausted = 0;  // receive re-armed because the buffer ring ran dry
  std::uint64_t bytes_spliced = 0;     // of bytes_from_*: moved by splice (relay_untouched)
};

class Worker;

class Relay {
 public:
  // Creates the listeners and starts the workers. `table` must outlive the Relay.
  static Result<std::unique_ptr<Relay>> start(RelayConfig config, HandlerFactory factory,
                                              session::SessionTable& table);
  ~Relay();  // stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Closes every session (reason "agent stopping"), exits the rings, joins the threads.
  // Idempotent; returns when everything is released.
  void stop();

  // The bound address of listen[i] (with the port the kernel chose).
  session::Endpoint listener_address(std::size_t index) const;
  // An fd of listen[i] to put in the SOCKMAP (any member of the reuseport group works).
  int listener_fd_for_steering(std::size_t index) const;
  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }

  RelayStats stats() const;

 private:
  Relay() = default;
  RelayConfig config_;  // workers keep a reference: the Relay never moves (heap, no copy)
  std::vector<std::vector<UniqueFd>> listeners_;  // per listen address: per worker or one
  std::vector<session::Endpoint> addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopped_ = false;
};

}  // namespace wb::relay
