// libFuzzer target for the first-bytes classifier. Besides "no crash, no read past the input"
// (ASAN/UBSAN), it checks the monotonicity the agent relies on: a decision on a prefix is the
// decision on the whole input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "agent/peek/peek.h"

namespace {

using Classify = wb::peek::Peek (*)(std::span<const std::uint8_t>);

void check(Classify f, std::span<const std::uint8_t> all, std::size_t cut) {
  const wb::peek::Peek whole = f(all);
  // An exact-size copy so ASAN sees a read one past the prefix.
  const std::vector<std::uint8_t> prefix(all.begin(), all.begin() + static_cast<long>(cut));
  const wb::peek::Peek part = f(prefix);
  if (part.need_more()) return;
  if (part.status != whole.status || part.kind != whole.kind) std::abort();
  if (part.done() && part.consumed != whole.consumed) std::abort();
  if (whole.consumed > all.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  // The last byte picks the prefix length, so the fuzzer controls it.
  const std::size_t cut = size == 0 ? 0 : data[size - 1] * size / 256;
  check(wb::peek::classify_client, in, cut);
  check(wb::peek::classify_server, in, cut);
  check(wb::peek::parse_client_hello, in, cut);
  return 0;
}
