// SessionIo as the relay implements it: a two-word view (worker, slot index) built on the stack
// for each handler callback, so nothing per connection is allocated for it.
#pragma once

#include "agent/relay/handler.h"

namespace wb::relay {

class Worker;

class ConnectionIo final : public SessionIo {
 public:
  ConnectionIo(Worker& worker, std::uint32_t index) : worker_(worker), index_(index) {}

  const ConnectionInfo& info() const override;
  Status send(Side to, std::span<const std::uint8_t> bytes) override;
  std::size_t queued(Side to) const override;
  void shutdown_write(Side to) override;
  void close(CloseMode mode, std::string_view reason) override;
  Status connect_upstream() override;
  Status reconnect_upstream() override;
  bool upstream_connected() const override;
  void pause_reading(Side from) override;
  void resume_reading(Side from) override;
  void set_first_bytes_timeout(std::chrono::milliseconds timeout) override;
  void set_protocol(session::Protocol protocol) override;
  void set_sni(std::string_view sni) override;
  void set_verdict(session::Verdict verdict, std::string_view reason) override;
  void set_inspection(std::string brief, nlohmann::json detail) override;
  void relay_untouched() override;
  void submit_now() override;
  Waker waker() override;

 private:
  Worker& worker_;
  std::uint32_t index_;
};

}  // namespace wb::relay
