// The SIP / SIPS inspector: frames each direction with StreamParser, feeds complete messages to
// Session, and decides what happens to malformed SIP (relayed unchanged by default, the bridge is
// not a SIP firewall; denied when configured with sip_malformed = "deny").
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "inspectors/inspector.h"
#include "inspectors/sip/sip_session.h"
#include "inspectors/sip/sip_stream.h"

namespace wb::sip {

struct InspectorOptions {
  bool deny_malformed = false;
  Limits limits;
  SessionLimits session_limits;
};

class SipInspector final : public inspect::Inspector {
 public:
  SipInspector(std::string label, InspectorOptions options);

  std::string_view protocol() const override { return label_; }
  inspect::Verdict on_data(inspect::Direction direction,
                           std::span<const std::uint8_t> bytes) override;
  void on_close(inspect::Direction direction) override;
  std::string brief() const override;
  nlohmann::json detail() const override;

  const Session& session() const { return session_; }
  std::uint64_t malformed() const { return malformed_; }

 private:
  struct Side {
    StreamParser parser;
    std::uint64_t bytes = 0;
    std::uint64_t messages = 0;
    std::uint64_t opaque_bytes = 0;  // compressed or after a parse error
    bool closed = false;
    std::string error;
  };

  std::string label_;
  InspectorOptions options_;
  Session session_;
  std::array<Side, 2> sides_;
  std::uint64_t malformed_ = 0;
};

}  // namespace wb::sip
