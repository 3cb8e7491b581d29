// libFuzzer: RecordLayer on hostile input. The first byte picks the suite, our role and the
// mode: (a) the rest is raw ciphertext from a peer without the keys, fed in fuzz-chosen pieces
// with fuzz-chosen read sizes; (b) the rest is a script for a second RecordLayer holding the
// peer's keys (writes of fuzz-chosen plaintext, its own KeyUpdates at a fuzz-chosen limit,
// close_notify, bit flips), whose output is opened by ours: whatever arrives intact must come
// out exactly as written, and after a failure nothing more comes out at all.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "agent/tls13/record_layer.h"
#include "tests/tls13/fuzz_record_reader.h"

namespace {

using wb::tls13::Handoff;
using wb::tls13::RecordLayer;
using wb::tls13::Secret;
using wb::tls13::Suite;

Secret secret(Suite suite, std::uint8_t seed) {
  std::array<std::uint8_t, 48> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(seed + 3 * i);
  return *Secret::from(std::span(raw.data(), wb::tls13::params(suite).hash_len));
}

std::unique_ptr<RecordLayer> layer(Suite suite, bool is_client, std::uint64_t limit) {
  const std::uint8_t ours = is_client ? 1 : 2;
  auto made = RecordLayer::create(
      Handoff{suite, is_client, secret(suite, 3 - ours), 0, secret(suite, ours), 0}, {limit});
  if (!made.ok()) std::abort();
  return std::move(*made);
}

using Reader = wb::test::FuzzReader;

void scripted_peer(Suite suite, bool ours_client, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  auto peer = layer(suite, !ours_client, std::uint64_t{data[0]} % 8 + 1);
  auto ours = layer(suite, ours_client, std::uint64_t{1} << 24);
  data = data.subspan(1);
  std::vector<std::uint8_t> written;
  Reader r;
  bool corrupted = false;
  while (data.size() >= 2) {
    const std::uint8_t op = data[0] % 5;
    const std::size_t len = std::min<std::size_t>(data[1], data.size() - 2);
    const auto arg = data.subspan(2, len);
    data = data.subspan(2 + len);
    switch (op) {
      case 0:  // the peer writes; a long write crosses the 16 KiB record limit
        if (peer->write(arg).ok()) written.insert(written.end(), arg.begin(), arg.end());
        break;
      case 1: {  // the peer writes a large pattern
        std::vector<std::uint8_t> big(std::size_t{len} * 300, static_cast<std::uint8_t>(len));
        if (peer->write(big).ok()) written.insert(written.end(), big.begin(), big.end());
        break;
      }
      case 2:
        peer->shutdown();
        break;
      case 3: {  // deliver what the peer has, maybe with one bit flipped
        std::vector<std::uint8_t> wire(peer->output().begin(), peer->output().end());
        peer->consume_output();
        if (!wire.empty() && len > 0 && arg[0] % 4 == 0) {
          wire[(std::size_t{arg[0]} * 257 + len) % wire.size()] ^=
              static_cast<std::uint8_t>(1u << (len % 8));
          corrupted = true;
        }
        ours->feed(wire);
        r.drain(*ours, std::size_t{len} * 61 + 1, r.pending(written.size()));
        // Our answers (KeyUpdates, alerts) go back to the peer.
        peer->feed(ours->output());
        ours->consume_output();
        Reader back;
        back.drain(*peer, 4096, 0);
        if (!back.got.empty()) std::abort();  // ours never sends application data here
        break;
      }
      case 4:
        ours->release_buffers();
        peer->release_buffers();
        break;
    }
  }
  ours->feed(peer->output());
  peer->consume_output();
  r.drain(*ours, 16384, r.pending(written.size()));
  // Intact records come out exactly as written, in order; a corrupted stream yields a prefix.
  if (r.got.size() > written.size()) std::abort();
  for (std::size_t i = 0; i < r.got.size(); ++i) {
    if (r.got[i] != written[i]) std::abort();
  }
  if (!corrupted && !r.failed && r.got.size() != written.size()) std::abort();
  if (!corrupted && r.failed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> data(bytes, size);
  const auto suite = static_cast<Suite>(data[0] % 3);
  const bool ours_client = (data[0] & 0x10) != 0;
  if ((data[0] & 0x20) != 0) {
    scripted_peer(suite, ours_client, data.subspan(1));
  } else {
    auto ours = layer(suite, ours_client, std::uint64_t{1} << 24);
    wb::test::fuzz_raw_ciphertext(*ours, data.subspan(1));
  }
  return 0;
}
