// Waiting for SIGTERM / SIGINT with a signalfd. The signals are blocked in the constructing
// thread BEFORE any other thread starts (threads inherit the mask), so no worker is ever
// interrupted and the only way the signal is seen is through the fd.
#pragma once

#include <chrono>
#include <optional>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::daemon {

class StopSignals {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP (HUP is treated as stop: there is no reload) and opens
  // the signalfd. SIGPIPE is ignored process-wide (a peer that went away is an error value).
  static Result<StopSignals> install();

  // The signal number, or nullopt when `timeout` passed first.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  int fd() const { return fd_.get(); }

 private:
  explicit StopSignals(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace wb::daemon
