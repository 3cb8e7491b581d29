// The first handler: a plain transparent relay. Connects upstream at once, forwards bytes both
// ways unchanged, relays half-close (FIN one way keeps the other way open) and resets. Also the
// behaviour for sessions tunnelled because the session table was full.
#pragma once

#include <memory>
#include <string>

#include "agent/relay/handler.h"

namespace wb::relay {

class PlainRelayHandler : public Handler {
 public:
  // `reason` is recorded as the session's verdict reason ("plain relay", "session limit").
  explicit PlainRelayHandler(std::string reason = "plain relay") : reason_(std::move(reason)) {}

  void on_start(SessionIo& io) override;
  void on_data(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) override;
  void on_eof(SessionIo& io, Side from) override;
  void on_upstream_connected(SessionIo& io) override;
  void on_upstream_failed(SessionIo& io, const Error& error) override;

 private:
  std::string reason_;
};

// A factory giving every connection a PlainRelayHandler.
HandlerFactory plain_relay_factory();

}  // namespace wb::relay
