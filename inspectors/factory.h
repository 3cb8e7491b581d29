// Creating the inspector for a protocol label, as the agent does after detection.
#pragma once

#include <memory>
#include <string_view>

#include "agent/common/result.h"
#include "inspectors/inspector.h"

namespace wb::inspect {

struct Options {
  bool sip_deny_malformed = false;  // sip_malformed = "deny"
  bool block_quic = false;          // strip Alt-Svc h3 from decrypted HTTP responses
  bool alpn_h2 = false;             // the intercepted TLS session negotiated h2
};

// Labels: "sip", "sips", "ms-turn", "turn", "http", "https". Unknown labels are an error.
Result<std::unique_ptr<Inspector>> make_inspector(std::string_view protocol,
                                                  const Options& options);

}  // namespace wb::inspect
