// libFuzzer: tls12::RecordLayer on hostile input. The first byte picks the suite, our role and
// the mode: (a) the rest is raw ciphertext from a peer without the keys, fed in fuzz-chosen
// pieces with fuzz-chosen read sizes; (b) the rest is a script for a peer holding the keys, which
// seals application data, records of any type with fuzz-chosen content (alerts, HelloRequests,
// ClientHellos, garbage types), close_notify and bit flips, delivered in fuzz-chosen pieces:
// plaintext that comes out is always a prefix of the data sealed, exactly all of it when only
// data and close_notify went intact, and nothing comes out after a failure.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "agent/tls12/record_aead.h"
#include "agent/tls12/record_layer.h"
#include "tests/tls13/fuzz_record_reader.h"

namespace {

using wb::tls12::Handoff;
using wb::tls12::RecordLayer;

constexpr std::array<std::uint16_t, 3> kSuites = {0xC02B, 0xC030, 0xCCA9};

Handoff handoff(std::uint16_t suite, bool is_client) {
  Handoff h{};
  h.cipher_suite = suite;
  h.is_client = is_client;
  for (std::size_t i = 0; i < h.master_secret.size(); ++i) h.master_secret[i] = 0x11 + i;
  for (std::size_t i = 0; i < h.client_random.size(); ++i) {
    h.client_random[i] = static_cast<std::uint8_t>(7 * i);
    h.server_random[i] = static_cast<std::uint8_t>(5 * i + 1);
  }
  h.read_seq = 1;
  h.write_seq = 1;
  return h;
}

using Reader = wb::test::FuzzReader;

// The peer's side of the connection: its write keys and seq.
class Peer {
 public:
  Peer(std::uint16_t suite, bool ours_client)
      : suite_(*wb::tls12::suite_params(suite)), h_(handoff(suite, ours_client)) {
    wb::tls12::DirectionKeys client;
    wb::tls12::DirectionKeys server;
    if (!wb::tls12::derive_key_block(suite_, h_.master_secret, h_.client_random, h_.server_random,
                                     client, server)
             .ok()) {
      std::abort();
    }
    keys_.key = ours_client ? server.key : client.key;
    keys_.iv = ours_client ? server.iv : client.iv;
  }
  const Handoff& ours() const { return h_; }
  void seal(std::uint8_t type, std::span<const std::uint8_t> content) {
    const std::size_t body = wb::tls12::RecordAead::body_len(suite_, content.size());
    const std::size_t at = wire.size();
    wire.insert(wire.end(), {type, 3, 3, static_cast<std::uint8_t>(body >> 8),
                             static_cast<std::uint8_t>(body)});
    wire.resize(at + 5 + body);
    if (!aead_.seal(suite_, keys_, seq_++, type, content, std::span(wire).subspan(at + 5))) {
      std::abort();
    }
  }
  std::vector<std::uint8_t> wire;

 private:
  wb::tls12::SuiteParams suite_;
  Handoff h_;
  wb::tls12::DirectionKeys keys_;
  wb::tls12::RecordAead aead_;
  std::uint64_t seq_ = 1;
};

void scripted_peer(std::uint16_t suite, bool ours_client, std::span<const std::uint8_t> data) {
  Peer peer(suite, ours_client);
  auto made = RecordLayer::create(
      peer.ours(), {data.empty() || data[0] % 2 == 0 ? wb::tls12::HelloRequestPolicy::kIgnore
                                                     : wb::tls12::HelloRequestPolicy::kDecline});
  if (!made.ok()) std::abort();
  RecordLayer& ours = **made;
  std::vector<std::uint8_t> written;
  Reader r;
  bool unpredictable = false;  // a flipped bit or a record that may end the connection
  while (data.size() >= 2) {
    const std::uint8_t op = data[0] % 6;
    const std::size_t len = std::min<std::size_t>(data[1], data.size() - 2);
    const auto arg = data.subspan(2, len);
    data = data.subspan(2 + len);
    switch (op) {
      case 0:
        peer.seal(23, arg);
        written.insert(written.end(), arg.begin(), arg.end());
        break;
      case 1: {  // up to 2^14 bytes of application data in one record
        std::vector<std::uint8_t> big(std::min<std::size_t>(std::size_t{len} * 65, 1u << 14),
                                      static_cast<std::uint8_t>(len));
        peer.seal(23, big);
        written.insert(written.end(), big.begin(), big.end());
        break;
      }
      case 2: {  // any record type with fuzz-chosen content
        if (arg.empty()) break;
        const std::uint8_t type =
            arg[0] % 8 == 0 ? arg[0] : static_cast<std::uint8_t>(20 + arg[0] % 4);
        peer.seal(type, arg.subspan(1));
        if (type == 23) {
          written.insert(written.end(), arg.begin() + 1, arg.end());
        } else {
          unpredictable = true;
        }
        break;
      }
      case 3: {  // close_notify
        const std::array<std::uint8_t, 2> alert = {1, 0};
        peer.seal(21, alert);
        break;
      }
      case 4: {  // deliver part of the wire, maybe with one bit flipped
        std::size_t n = std::min(peer.wire.size(), std::size_t{len} * 37 + 1);
        if (!peer.wire.empty() && len > 0 && arg[0] % 4 == 0) {
          peer.wire[(std::size_t{arg[0]} * 257 + len) % n] ^=
              static_cast<std::uint8_t>(1u << (len % 8));
          unpredictable = true;
        }
        ours.feed(std::span(peer.wire).first(n));
        peer.wire.erase(peer.wire.begin(), peer.wire.begin() + static_cast<std::ptrdiff_t>(n));
        r.drain(ours, std::size_t{len} * 61 + 1, r.pending(written.size()));
        ours.consume_output();
        break;
      }
      case 5:
        ours.release_buffers();
        if (len % 2 == 0 && !ours.write(arg).ok() && !r.failed) std::abort();
        break;
    }
  }
  ours.feed(peer.wire);
  r.drain(ours, 16384, r.pending(written.size()));
  // Data comes out exactly as sealed, in order; a broken stream yields a prefix.
  if (r.got.size() > written.size()) std::abort();
  for (std::size_t i = 0; i < r.got.size(); ++i) {
    if (r.got[i] != written[i]) std::abort();
  }
  if (!unpredictable && (r.failed || (!r.closed && r.got.size() != written.size()))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> data(bytes, size);
  const std::uint16_t suite = kSuites[data[0] % 3];
  const bool ours_client = (data[0] & 0x10) != 0;
  if ((data[0] & 0x20) != 0) {
    scripted_peer(suite, ours_client, data.subspan(1));
  } else {
    auto made = RecordLayer::create(handoff(suite, ours_client));
    if (!made.ok()) std::abort();
    wb::test::fuzz_raw_ciphertext(**made, data.subspan(1));
  }
  return 0;
}
