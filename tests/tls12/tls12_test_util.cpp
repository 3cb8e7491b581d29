#include "tests/tls12/tls12_test_util.h"

#include <gtest/gtest.h>

namespace wb::test {

tls12::Handoff fixed_handoff12(std::uint16_t cipher_suite, bool is_client, std::uint64_t read_seq,
                               std::uint64_t write_seq) {
  tls12::Handoff h{};
  h.cipher_suite = cipher_suite;
  h.is_client = is_client;
  for (std::size_t i = 0; i < h.master_secret.size(); ++i) {
    h.master_secret[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  for (std::size_t i = 0; i < h.client_random.size(); ++i) {
    h.client_random[i] = static_cast<std::uint8_t>(0xc0 + i);
    h.server_random[i] = static_cast<std::uint8_t>(0x5e + i);
  }
  h.read_seq = read_seq;
  h.write_seq = write_seq;
  return h;
}

std::unique_ptr<tls12::RecordLayer> make_layer12(const tls12::Handoff& handoff,
                                                 tls12::Options options) {
  auto made = tls12::RecordLayer::create(handoff, options);
  EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message());
  return made.ok() ? std::move(*made) : nullptr;
}

Bytes seal_record12(const tls12::Handoff& handoff, bool by_client, std::uint64_t seq,
                    std::uint8_t type, std::span<const std::uint8_t> content) {
  const auto suite = tls12::suite_params(handoff.cipher_suite);
  EXPECT_TRUE(suite.has_value());
  if (!suite) return {};
  tls12::DirectionKeys client;
  tls12::DirectionKeys server;
  EXPECT_TRUE(tls12::derive_key_block(*suite, handoff.master_secret, handoff.client_random,
                                      handoff.server_random, client, server)
                  .ok());
  tls12::RecordAead aead;
  const std::size_t body_len = tls12::RecordAead::body_len(*suite, content.size());
  Bytes record = {type, 0x03, 0x03, static_cast<std::uint8_t>(body_len >> 8),
                  static_cast<std::uint8_t>(body_len)};
  record.resize(5 + body_len);
  EXPECT_TRUE(aead.seal(*suite, by_client ? client : server, seq, type, content,
                        std::span(record).subspan(5)));
  return record;
}

}  // namespace wb::test
