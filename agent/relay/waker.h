// The worker side of Waker (handler.h): a mutex-protected mailbox of (slot, generation, token)
// plus an eventfd whose read the worker keeps armed on its ring. Any thread posts; the worker
// drains the whole mailbox when the read completes and dispatches Handler::on_wake for the
// connections that still exist. The mailbox is shared (Wakers hold it), so a post after the
// worker stopped touches live memory and is dropped. The same eventfd carries the stop request.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::relay {

class WakeMailbox {
 public:
  struct Mail {
    std::uint32_t slot;
    std::uint16_t generation;
    std::uint64_t token;
  };

  static Result<std::shared_ptr<WakeMailbox>> create();

  int fd() const { return fd_.get(); }

  // Any thread. Dropped once close() ran.
  void post(const Mail& mail);
  void request_stop();

  // Worker thread: moves every queued mail into `out` (cleared first); true once a stop was
  // requested.
  bool take(std::vector<Mail>& out);
  // Worker thread, at stop: every later post is dropped.
  void close();

 private:
  explicit WakeMailbox(UniqueFd fd) : fd_(std::move(fd)) {}
  void signal() const;

  UniqueFd fd_;
  std::mutex mutex_;
  std::vector<Mail> mail_;
  bool stop_ = false;
  bool closed_ = false;
};

}  // namespace wb::relay
