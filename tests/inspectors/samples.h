// Crafted protocol flows shared by the inspector tests and the fuzzers' seed generator: Lync-style
// SIP logins (NTLM, Kerberos, TLS-DSK), dialogs with SDP/ICE, NEGOTIATE compression, MS-TURN and
// RFC 5766 TURN sessions, HTTP/1.x and HTTP/2 exchanges. Built in code (no capture bytes in the
// repository); the real captures are read from WB_TESTDATA_DIR by the tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "inspectors/inspector.h"

namespace wb::test {

using Chunk = std::pair<inspect::Direction, std::vector<std::uint8_t>>;

struct Flow {
  std::string name;
  std::string protocol;       // factory label
  std::vector<Chunk> chunks;  // in relay order

  // All bytes of one direction, concatenated.
  std::vector<std::uint8_t> stream(inspect::Direction direction) const;
};

std::vector<std::uint8_t> bytes_of(const std::string& text);

// SIP message text with the right Content-Length (compact `l:` when `compact`).
std::string sip_message(const std::string& start_line, const std::vector<std::string>& headers,
                        const std::string& body = "", bool compact = false);

Flow sip_register_flow(const std::string& scheme);  // "NTLM", "Kerberos" or "TLS-DSK"
Flow sip_dialog_flow();                             // INVITE/100/180/200/ACK/BYE/200, compact forms
Flow sip_negotiate_flow();                          // NEGOTIATE LZ77-8K, then compressed bytes
Flow ms_turn_flow();  // pseudo-TLS, Allocate 401 + Allocate OK, Send/Data, SAD, data frames
Flow turn_flow();     // RFC 5766: Allocate, CreatePermission, ChannelBind, Send/Data, ChannelData
Flow http1_flow();    // pipelined keep-alive GETs, chunked response, HEAD, Alt-Svc h3
Flow http2_flow();    // preface, SETTINGS, HEADERS, DATA, ALTSVC frame

std::vector<Flow> all_flows();

}  // namespace wb::test
