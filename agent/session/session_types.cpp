#include "agent/session/session_types.h"

#include <array>
#include <cctype>

namespace wb::session {
namespace {

struct ProtocolNames {
  Protocol protocol;
  std::string_view label;
  std::string_view log_label;
};

constexpr std::array<ProtocolNames, 8> kProtocols = {{
    {Protocol::kUnknown, "unknown", "UNKNOWN"},
    {Protocol::kHttps, "https", "HTTPS"},
    {Protocol::kHttp, "http", "HTTP"},
    {Protocol::kSips, "sips", "SIPS"},
    {Protocol::kSip, "sip", "SIP"},
    {Protocol::kMsTurn, "ms-turn", "MS-TURN"},
    {Protocol::kTurn, "turn", "TURN"},
    {Protocol::kTunnel, "tunnel", "TUNNEL"},
}};

const ProtocolNames& names(Protocol protocol) {
  for (const auto& entry : kProtocols) {
    if (entry.protocol == protocol) return entry;
  }
  return kProtocols[0];
}

}  // namespace

std::string_view label(Protocol protocol) {
  return names(protocol).label;
}
std::string_view log_label(Protocol protocol) {
  return names(protocol).log_label;
}

std::string_view label(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPending:
      return "pending";
    case Verdict::kRelay:
      return "relay";
    case Verdict::kIntercept:
      return "intercept";
    case Verdict::kTunnel:
      return "tunnel";
    case Verdict::kDeny:
      return "deny";
  }
  return "pending";
}

std::string_view label(State state) {
  switch (state) {
    case State::kAccepted:
      return "accepted";
    case State::kConnecting:
      return "connecting";
    case State::kEstablished:
      return "established";
    case State::kHalfClosed:
      return "half-closed";
    case State::kClosing:
      return "closing";
  }
  return "accepted";
}

std::string protocol_choices() {
  std::string out;
  for (std::size_t i = 0; i < kAllProtocols.size(); ++i) {
    if (i > 0) out += i + 1 == kAllProtocols.size() ? " or " : ", ";
    out += label(kAllProtocols[i]);
  }
  return out;
}

std::optional<Protocol> parse_protocol(std::string_view text) {
  for (const auto& entry : kProtocols) {
    if (entry.label.size() != text.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < text.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(text[i])) == entry.label[i];
    }
    if (same) return entry.protocol;
  }
  return std::nullopt;
}

}  // namespace wb::session
