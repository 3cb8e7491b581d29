#include "inspectors/sip/sip_inspector.h"

#include "agent/common/log.h"

namespace wb::sip {

using inspect::Direction;
using inspect::Verdict;

SipInspector::SipInspector(std::string label, InspectorOptions options)
    : label_(std::move(label)),
      options_(options),
      session_(options.session_limits),
      sides_{Side{StreamParser(options.limits)}, Side{StreamParser(options.limits)}} {}

Verdict SipInspector::on_data(Direction direction, std::span<const std::uint8_t> bytes) {
  Side& side = sides_[static_cast<std::size_t>(direction)];
  side.bytes += bytes.size();
  Origin origin = direction == Direction::kClientToServer ? Origin::kClient : Origin::kServer;
  while (!bytes.empty()) {
    Step step = side.parser.feed(bytes);
    bytes = bytes.subspan(step.consumed);
    switch (step.kind) {
      case Step::Kind::kNeedMore:
        return Verdict::forward();
      case Step::Kind::kKeepalive:
        break;
      case Step::Kind::kMessage:
        ++side.messages;
        if (session_.on_message(origin, side.parser.message())) {
          // LZ77 negotiated: what follows in both directions is compressed SIP. Keep relaying.
          spdlog::info("{}: NEGOTIATE enabled compression, stream is opaque from here", label_);
          for (auto& each : sides_) each.parser.set_opaque();
        }
        break;
      case Step::Kind::kOpaque:
        side.opaque_bytes += step.consumed;
        break;
      case Step::Kind::kError:
        side.opaque_bytes += step.consumed + bytes.size();
        if (side.error.empty()) {
          side.error = std::string(side.parser.error());
          ++malformed_;
          spdlog::warn("{}: malformed SIP from the {}: {}", label_,
                       direction == Direction::kClientToServer ? "client" : "server", side.error);
          if (options_.deny_malformed) return Verdict::deny("malformed SIP: " + side.error);
        }
        return Verdict::forward();
    }
  }
  return Verdict::forward();
}

void SipInspector::on_close(Direction direction) {
  Side& side = sides_[static_cast<std::size_t>(direction)];
  side.closed = true;
  if (side.parser.buffered() > 0 && !side.parser.opaque() && !side.parser.failed()) {
    // A message cut off by the close: not malformed, but worth seeing in the detail.
    side.error = "closed inside a message (" + std::to_string(side.parser.buffered()) + " bytes)";
  }
}

std::string SipInspector::brief() const {
  std::string line = session_.brief();
  if (malformed_) line += " malformed=" + std::to_string(malformed_);
  return line;
}

nlohmann::json SipInspector::detail() const {
  nlohmann::json json = session_.detail();
  json["protocol"] = label_;
  json["malformed"] = malformed_;
  const char* names[] = {"client", "server"};
  for (std::size_t i = 0; i < sides_.size(); ++i) {
    const Side& side = sides_[i];
    json["streams"][names[i]] = {{"bytes", side.bytes},
                                 {"messages", side.messages},
                                 {"keepalive_bytes", side.parser.keepalive_bytes()},
                                 {"opaque_bytes", side.opaque_bytes},
                                 {"closed", side.closed},
                                 {"error", side.error}};
  }
  return json;
}

}  // namespace wb::sip
