#include "agent/relay/waker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/relay/handler.h"

namespace wb::relay {

void Waker::post(std::uint64_t token) const {
  if (mailbox_) mailbox_->post({slot_, generation_, token});
}

Result<std::shared_ptr<WakeMailbox>> WakeMailbox::create() {
  UniqueFd fd(eventfd(0, EFD_CLOEXEC));
  if (!fd) return errno_error("eventfd");
  return std::shared_ptr<WakeMailbox>(new WakeMailbox(std::move(fd)));
}

void WakeMailbox::signal() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(fd_.get(), &one, sizeof(one));
}

void WakeMailbox::post(const Mail& mail) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    first = mail_.empty();
    mail_.push_back(mail);
  }
  // One eventfd write per batch: a non-empty mailbox is already signalled (the worker takes the
  // whole batch under the lock after its read completed).
  if (first) signal();
}

void WakeMailbox::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  signal();
}

bool WakeMailbox::take(std::vector<Mail>& out) {
  out.clear();
  std::lock_guard lock(mutex_);
  out.swap(mail_);
  return stop_;
}

void WakeMailbox::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  mail_.clear();
  mail_.shrink_to_fit();
}

}  // namespace wb::relay
