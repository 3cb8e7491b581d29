// The input layout shared by the inspector fuzzers and their seed generator:
//   byte 0: chunk size for feeding (0 = everything at once)
//   byte 1: bit 0 = direction (0 client -> server, 1 server -> client); other bits: options
//   rest:   the stream bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wb::test {

struct FuzzInput {
  std::size_t chunk = 0;
  bool from_server = false;
  std::uint8_t options = 0;
  std::span<const std::uint8_t> stream;
};

inline FuzzInput split_fuzz_input(const std::uint8_t* data, std::size_t size) {
  FuzzInput input;
  if (size < 2) return input;
  input.chunk = data[0];
  input.from_server = data[1] & 1;
  input.options = static_cast<std::uint8_t>(data[1] >> 1);
  input.stream = std::span<const std::uint8_t>(data + 2, size - 2);
  return input;
}

// Calls fn(chunk) for consecutive chunks of the stream.
template <class Fn>
void for_each_chunk(const FuzzInput& input, Fn&& fn) {
  std::span<const std::uint8_t> rest = input.stream;
  std::size_t chunk = input.chunk ? input.chunk : rest.size();
  while (!rest.empty()) {
    std::size_t n = chunk < rest.size() ? chunk : rest.size();
    fn(rest.first(n));
    rest = rest.subspan(n);
  }
}

}  // namespace wb::test
