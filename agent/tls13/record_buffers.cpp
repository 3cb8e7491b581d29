#include "agent/tls13/record_buffers.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace wb::tls13 {

RecordBuffers::~RecordBuffers() {
  if (!pending_.empty()) OPENSSL_cleanse(pending_.data(), pending_.size());
}

void RecordBuffers::append_input(std::span<const std::uint8_t> ciphertext) {
  if (in_off_ == in_.size()) {
    in_.clear();
  } else if (in_off_ > 0) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_off_));
  }
  in_off_ = 0;
  in_.insert(in_.end(), ciphertext.begin(), ciphertext.end());
}

std::span<std::uint8_t> RecordBuffers::pending_for(std::size_t len) {
  pending_.resize(len);
  pending_off_ = 0;
  return std::span(pending_);
}

void RecordBuffers::truncate_pending(std::size_t n) {
  if (n >= pending_.size()) return;
  OPENSSL_cleanse(pending_.data() + n, pending_.size() - n);
  pending_.resize(n);
}

std::size_t RecordBuffers::take_pending(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), pending_.size() - pending_off_);
  std::copy_n(pending_.begin() + static_cast<std::ptrdiff_t>(pending_off_), n, out.begin());
  pending_off_ += n;
  if (pending_off_ == pending_.size()) drop_pending();
  return n;
}

void RecordBuffers::drop_pending() {
  if (!pending_.empty()) OPENSSL_cleanse(pending_.data(), pending_.size());
  pending_.clear();
  pending_off_ = 0;
}

void RecordBuffers::release() {
  if (in_off_ == in_.size()) {
    std::vector<std::uint8_t>().swap(in_);
    in_off_ = 0;
  }
  if (pending_off_ == pending_.size()) {
    std::vector<std::uint8_t>().swap(pending_);
    pending_off_ = 0;
  }
}

}  // namespace wb::tls13
