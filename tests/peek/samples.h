// Test helpers shared by the peek and replay tests: captures from WB_TESTDATA_DIR turned into
// flows (through wb_replay), hex literals, hello builders.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/replay/flows.h"

namespace wb::test {

using Bytes = std::vector<std::uint8_t>;

std::string testdata(std::string_view relative);  // WB_TESTDATA_DIR/relative
// Every capture file (pcap, pcapng) under WB_TESTDATA_DIR, relative paths, sorted.
std::vector<std::string> all_captures();

// Reads a capture and builds its flows; fails the current test (and returns an empty table)
// when the capture does not read.
replay::FlowTable flows_of(std::string_view relative, replay::Capture* keep = nullptr);
// The TCP flows' reassembled client->server first bytes.
Bytes client_bytes(const replay::Flow& flow);
Bytes server_bytes(const replay::Flow& flow);

Bytes hex(std::string_view text);  // "16 03 01" or "160301"
Bytes text(std::string_view s);
inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Re-packs one handshake message (4-byte header + body) into TLS records whose payloads end at
// the given cut points: cuts {k} gives two records [0,k) and [k,len).
Bytes records(std::span<const std::uint8_t> handshake, const std::vector<std::size_t>& cuts,
              std::uint16_t version = 0x0301);
// A TLS 1.3-style ClientHello handshake message (4-byte header + body): SNI `sni` (none if
// empty), one suite, then `extra` extensions appended as given (type, data).
Bytes client_hello_message(std::string_view sni,
                           const std::vector<std::pair<std::uint16_t, Bytes>>& extra = {});
// The handshake message (header + body) of a single-record hello.
Bytes handshake_of(std::span<const std::uint8_t> single_record_hello);

}  // namespace wb::test
