#include "agent/relay/relay.h"

#include <string>
#include <thread>

#include "agent/relay/listener.h"
#include "agent/relay/worker.h"

namespace wb::relay {

Result<std::unique_ptr<Relay>> Relay::start(RelayConfig config, HandlerFactory factory,
                                            session::SessionTable& table) {
  if (config.listen.empty()) {
    return make_error(std::errc::invalid_argument, "relay: no listen address");
  }
  if (!factory) return make_error(std::errc::invalid_argument, "relay: no handler factory");
  if (!config.upstream) return make_error(std::errc::invalid_argument, "relay: no upstream");
  if (config.queues.low_watermark > config.queues.high_watermark ||
      config.queues.high_watermark > config.queues.hard_limit) {
    return make_error(std::errc::invalid_argument,
                      "relay: queue limits must satisfy low <= high <= hard");
  }
  const std::size_t ring_bytes = static_cast<std::size_t>(config.buffer_count) * config.buffer_size;
  if (config.queues.hard_limit < config.queues.high_watermark + ring_bytes) {
    return make_error(std::errc::invalid_argument,
                      "relay: queue hard limit must be >= high watermark + buffer ring bytes (" +
                          std::to_string(config.queues.high_watermark + ring_bytes) + ")");
  }
  if (config.timeouts.tick.count() <= 0) {
    return make_error(std::errc::invalid_argument, "relay: timer tick must be positive");
  }
  if (config.workers == 0) config.workers = std::max(1u, std::thread::hardware_concurrency());

  std::unique_ptr<Relay> relay(new Relay());
  relay->config_ = std::move(config);
  const RelayConfig& cfg = relay->config_;
  const bool per_worker = cfg.listener_mode == ListenerMode::kReusePortPerWorker;
  for (const auto& address : cfg.listen) {
    ListenerOptions options{cfg.transparent_listener, per_worker, cfg.backlog};
    WB_TRY_ASSIGN(ListenerGroup group,
                  open_listeners(address, per_worker ? cfg.workers : 1, options));
    relay->addresses_.push_back(group.address);
    relay->listeners_.push_back(std::move(group.fds));
  }
  for (unsigned w = 0; w < cfg.workers; ++w) {
    std::vector<int> fds;
    for (const auto& group : relay->listeners_) fds.push_back(group[per_worker ? w : 0].get());
    auto worker = std::make_unique<Worker>(w, cfg, factory, table, std::move(fds));
    if (Status status = worker->start(); !status.ok()) {
      relay->stop();
      return status.error();
    }
    relay->workers_.push_back(std::move(worker));
  }
  return relay;
}

Relay::~Relay() {
  stop();
}

void Relay::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) worker->request_stop();
  for (auto& worker : workers_) worker->join();
  listeners_.clear();  // only now: a worker's accept may still reference its listener until join
}

session::Endpoint Relay::listener_address(std::size_t index) const {
  return index < addresses_.size() ? addresses_[index] : session::Endpoint{};
}

int Relay::listener_fd_for_steering(std::size_t index) const {
  if (index >= listeners_.size() || listeners_[index].empty()) return -1;
  return listeners_[index][0].get();
}

RelayStats Relay::stats() const {
  RelayStats stats;
  for (const auto& worker : workers_) worker->add_stats(stats);
  return stats;
}

}  // namespace wb::relay
