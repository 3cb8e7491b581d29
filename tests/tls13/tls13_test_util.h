// Helpers for the TLS 1.3 record-layer tests: fixed secrets, two RecordLayers facing each other,
// and records sealed under known keys for inputs a conforming peer never sends (padding, bad
// inner types, oversize plaintext, misplaced KeyUpdates).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "agent/tls13/record_layer.h"
#include "agent/tls13/record_protection.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

using tls13::RecordLayer;
using Progress = RecordLayer::Progress;

tls13::Secret fixed_secret(tls13::Suite suite, std::uint8_t seed);

// Client handoff: reads the server's secret (seed 2), writes the client's (seed 1); the server
// handoff is the mirror image.
tls13::Handoff fixed_handoff(tls13::Suite suite, bool is_client, std::uint64_t read_seq = 0,
                             std::uint64_t write_seq = 0);
std::unique_ptr<RecordLayer> make_layer(const tls13::Handoff& handoff,
                                        tls13::RecordLayerOptions options = {});

// One complete record: header || AEAD(inner) under `secret` at `seq`; `inner` is the whole
// TLSInnerPlaintext (content || type || padding) and must not be empty.
Bytes seal_inner(tls13::Suite suite, const tls13::Secret& secret, std::uint64_t seq,
                 std::span<const std::uint8_t> inner);
// A record of `type` carrying `content` (no padding).
Bytes seal_typed(tls13::Suite suite, const tls13::Secret& secret, std::uint64_t seq,
                 std::uint8_t type, const Bytes& content);

// Reads until the layer stops producing plaintext; `last` is the final progress. Any record
// layer (TLS 1.3 or 1.2) through the RecordProtection interface.
Bytes read_all(tls13::RecordProtection& layer, Progress& last, std::size_t chunk = 16384);
// Moves everything `from` has queued into `to`.
void transfer(tls13::RecordProtection& from, tls13::RecordProtection& to);
// "ping" from client to server and "pong" back between two connected layers; gtest failures
// (call it under ASSERT_NO_FATAL_FAILURE) when either does not arrive whole.
void ping_pong(tls13::RecordProtection& client, tls13::RecordProtection& server);

Bytes pattern(std::size_t n, std::uint32_t seed = 1);

}  // namespace wb::test
