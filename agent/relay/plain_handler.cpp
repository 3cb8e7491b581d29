#include "agent/relay/plain_handler.h"

namespace wb::relay {

void PlainRelayHandler::on_start(SessionIo& io) {
  io.set_protocol(session::Protocol::kTunnel);
  io.set_verdict(session::Verdict::kRelay, reason_);
  // Nothing to peek at: a server-speaks-first protocol must not be cut by the first-bytes timer.
  io.set_first_bytes_timeout(std::chrono::milliseconds(0));
  // Bytes pass untouched: the relay may move them itself (splice, no copy through user space).
  if (untouched_) io.relay_untouched();
  if (auto status = io.connect_upstream(); !status.ok()) {
    io.close(CloseMode::kReset, "upstream: " + status.error().message());
  }
}

void PlainRelayHandler::on_data(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) {
  if (auto status = io.send(other(from), bytes); !status.ok()) {
    io.close(CloseMode::kReset,
             "queue to " + std::string(label(other(from))) + ": " + status.error().message());
  }
}

void PlainRelayHandler::on_eof(SessionIo& io, Side from) {
  io.shutdown_write(other(from));
}

void PlainRelayHandler::on_upstream_connected(SessionIo& /*io*/) {}

void PlainRelayHandler::on_upstream_failed(SessionIo& io, const Error& error) {
  // The client sees what it would have seen without us: a reset.
  io.close(CloseMode::kReset, "upstream connect failed: " + error.message());
}

HandlerFactory plain_relay_factory(bool untouched) {
  return [untouched](const ConnectionInfo&) -> std::unique_ptr<Handler> {
    return std::make_unique<PlainRelayHandler>("plain relay", untouched);
  };
}

}  // namespace wb::relay
