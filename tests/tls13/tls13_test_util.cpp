#include "tests/tls13/tls13_test_util.h"

#include <gtest/gtest.h>

#include <array>

#include "agent/tls13/record_aead.h"

namespace wb::test {

tls13::Secret fixed_secret(tls13::Suite suite, std::uint8_t seed) {
  std::array<std::uint8_t, tls13::kMaxSecretLen> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return *tls13::Secret::from(std::span(raw.data(), tls13::params(suite).hash_len));
}

tls13::Handoff fixed_handoff(tls13::Suite suite, bool is_client, std::uint64_t read_seq,
                             std::uint64_t write_seq) {
  const std::uint8_t ours = is_client ? 1 : 2;
  const std::uint8_t theirs = is_client ? 2 : 1;
  return tls13::Handoff{
      suite,    is_client, fixed_secret(suite, theirs), read_seq, fixed_secret(suite, ours),
      write_seq};
}

std::unique_ptr<RecordLayer> make_layer(const tls13::Handoff& handoff,
                                        tls13::RecordLayerOptions options) {
  auto made = RecordLayer::create(handoff, options);
  EXPECT_TRUE(made.ok()) << made.error().message();
  return made.ok() ? std::move(*made) : nullptr;
}

Bytes seal_inner(tls13::Suite suite, const tls13::Secret& secret, std::uint64_t seq,
                 std::span<const std::uint8_t> inner) {
  tls13::TrafficKeys keys;
  EXPECT_TRUE(tls13::derive_traffic_keys(suite, secret, keys).ok());
  const std::size_t body_len = inner.size() + tls13::kTagLen;
  const std::array<std::uint8_t, tls13::kHeaderLen> header = {
      23, 3, 3, static_cast<std::uint8_t>(body_len >> 8), static_cast<std::uint8_t>(body_len)};
  Bytes record(tls13::kHeaderLen + body_len);
  std::copy(header.begin(), header.end(), record.begin());
  tls13::RecordAead aead;
  EXPECT_TRUE(aead.seal(suite, keys, seq, header, inner.first(inner.size() - 1), inner.back(),
                        std::span(record).subspan(tls13::kHeaderLen)));
  return record;
}

Bytes seal_typed(tls13::Suite suite, const tls13::Secret& secret, std::uint64_t seq,
                 std::uint8_t type, const Bytes& content) {
  Bytes inner(content.begin(), content.end());
  inner.push_back(type);
  return seal_inner(suite, secret, seq, inner);
}

Bytes read_all(tls13::RecordProtection& layer, Progress& last, std::size_t chunk) {
  Bytes all;
  Bytes buf(chunk);
  for (int guard = 0; guard < 1 << 20; ++guard) {
    std::size_t got = 0;
    last = layer.read_into(buf, got);
    if (last != Progress::kDone) break;
    EXPECT_GT(got, 0u);
    all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return all;
}

void transfer(tls13::RecordProtection& from, tls13::RecordProtection& to) {
  to.feed(from.output());
  from.consume_output();
}

void ping_pong(tls13::RecordProtection& client, tls13::RecordProtection& server) {
  ASSERT_TRUE(client.write(Bytes{'p', 'i', 'n', 'g'}).ok());
  transfer(client, server);
  ASSERT_TRUE(server.write(Bytes{'p', 'o', 'n', 'g'}).ok());
  transfer(server, client);
  Progress last{};
  ASSERT_EQ(read_all(server, last), (Bytes{'p', 'i', 'n', 'g'}));
  ASSERT_EQ(read_all(client, last), (Bytes{'p', 'o', 'n', 'g'}));
}

Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

}  // namespace wb::test
