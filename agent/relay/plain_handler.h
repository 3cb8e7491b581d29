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
  // `untouched`: let the relay move the bytes itself (SessionIo::relay_untouched, splice); false
  // keeps every byte going through on_data (tests and benchmarks compare both paths).
  explicit PlainRelayHandler(std::string reason = "plain relay", bool untouched = true)
      : reason_(std::move(reason)), untouched_(untouched) {}

  void on_start(SessionIo& io) override;
  void on_data(SessionIo& io, Side from, std::span<const std::uint8_t> bytes) override;
  void on_eof(SessionIo& io, Side from) override;
  void on_upstream_connected(SessionIo& io) override;
  void on_upstream_failed(SessionIo& io, const Error& error) override;

 private:
  std::string reason_;
  bool untouched_;
};

// A factory giving every connection a PlainRelayHandler.
HandlerFactory plain_relay_factory(bool untouched = true);

}  // namespace wb::relay
