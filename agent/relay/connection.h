// One relayed connection: a slot in a worker's fixed-capacity slab. Kept small (no buffers: bytes
// live in the shared receive buffer ring for the length of a callback, and in pooled send-queue
// chunks only while a peer is slower than the other), so that idle sessions cost little memory.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/relay/handler.h"
#include "agent/relay/send_queue.h"
#include "agent/session/endpoint.h"
#include "agent/session/session_table.h"

namespace wb::relay {

struct SideState {
  bool recv_armed = false;       // a multishot receive is in flight
  bool recv_multishot = false;   // ... multishot (else one buffer per receive)
  bool recv_cancelling = false;  // ... and we asked for its cancellation
  bool paused_by_handler = false;
  bool paused_by_backpressure = false;  // the queue towards the other side is above the mark
  bool eof = false;                     // this side sent FIN
  bool shutdown_requested = false;      // FIN towards this side once its queue is empty
  bool shutdown_done = false;
  bool sending = false;     // one send from the queue towards this side is in flight
  bool above_high = false;  // the queue towards this side crossed the high watermark
  // Splice path (relay_untouched, worker_splice.cpp). The pipe carries bytes read from THIS side
  // towards the other one; it exists only once this side sent a bulk transfer.
  bool splice = false;              // bulk seen: read this side by poll + splice, not recv
  bool poll_in_armed = false;       // a POLLIN poll on this side's socket is in flight
  bool poll_out_armed = false;      // a POLLOUT poll on this side's socket is in flight
  std::uint32_t in_pipe = 0;        // bytes in this side's pipe, not yet spliced to the other side
  std::array<int, 2> pipe{-1, -1};  // read end, write end
};

struct Connection {
  std::uint16_t generation = 0;
  bool in_use = false;
  std::uint8_t epoch = 0;     // upstream epoch, bumped by reconnect_upstream()
  std::uint32_t pending = 0;  // submissions whose final completion has not arrived

  std::array<int, 2> fd{-1, -1};  // client, server; closed by the worker
  std::array<SideState, 2> side{};
  std::array<SendQueue, 2> queue;
  SendQueue retired;  // bytes of a dropped upstream that a cancelled send may still reference
  std::array<std::uint64_t, 2> bytes_from{0, 0};

  bool untouched = false;  // the handler called relay_untouched(): the relay forwards bytes
  bool connecting = false;
  bool connected = false;
  bool closing = false;          // teardown started
  bool draining = false;         // graceful teardown: flushing queues before FIN and close
  bool close_requested = false;  // io.close() inside a callback, applied after it
  CloseMode close_mode = CloseMode::kGraceful;
  int in_callback = 0;
  std::int8_t first_eof = -1;  // the side that sent FIN first (for the close reason)

  std::int64_t first_bytes_deadline = 0;  // steady ns, 0 = off
  bool first_bytes_auto = false;    // armed by the relay at accept: the first client byte disarms
  std::int64_t last_activity = 0;   // steady ns
  std::int64_t close_deadline = 0;  // steady ns, graceful teardown bound

  std::unique_ptr<Handler> handler;
  session::SessionEntry* entry = nullptr;  // nullptr: untracked overflow tunnel
  ConnectionInfo info;
  session::Endpoint upstream_destination;  // must outlive the connect submission
  std::string reason;
};

}  // namespace wb::relay
