// Helpers for the TLS 1.2 record-layer tests and fuzzers: fixed handoffs, a peer that seals
// records of any type under the handoff's keys. Reading and moving bytes between layers:
// read_all()/transfer() of tests/tls13/tls13_test_util.h, through the RecordProtection interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "agent/tls12/record_layer.h"
#include "agent/tls13/record_protection.h"
#include "tests/support/packet_builder.h"

namespace wb::test {

using Progress12 = tls13::RecordProtection::Progress;

// A handoff with a fixed master secret and randoms for `cipher_suite`.
tls12::Handoff fixed_handoff12(std::uint16_t cipher_suite, bool is_client,
                               std::uint64_t read_seq = 1, std::uint64_t write_seq = 1);
std::unique_ptr<tls12::RecordLayer> make_layer12(const tls12::Handoff& handoff,
                                                 tls12::Options options = {});

// One complete record of `type` sealed as the given side of `handoff`'s connection would at
// `seq` (GCM: the seq is also the explicit nonce, as RecordLayer sends it).
Bytes seal_record12(const tls12::Handoff& handoff, bool by_client, std::uint64_t seq,
                    std::uint8_t type, std::span<const std::uint8_t> content);

}  // namespace wb::test
