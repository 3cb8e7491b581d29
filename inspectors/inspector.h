// The hand-off contract between the agent and the protocol inspectors.
//
// After the agent has decided what a connection carries (plaintext SIP, Microsoft pseudo-TLS,
// or the first decrypted bytes of an intercepted TLS session), it creates the matching
// Inspector and feeds it every chunk of bytes it relays, in order, per direction. Inspectors
// never see sockets, TLS objects or timers: bytes in, a verdict and state out. They must bound
// their memory per session and never assume a message arrives in one chunk.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wb::inspect {

enum class Direction : std::uint8_t { kClientToServer = 0, kServerToClient = 1 };

struct Verdict {
  enum class Kind : std::uint8_t { kForward, kDeny };
  Kind kind = Kind::kForward;
  std::string reason;  // why a session is denied, for logs and `wirebump sessions`

  static Verdict forward() { return {}; }
  static Verdict deny(std::string why) { return {Kind::kDeny, std::move(why)}; }
  bool denied() const { return kind == Kind::kDeny; }
};

class Inspector {
 public:
  virtual ~Inspector() = default;

  // Protocol label as operators see it: "sip", "sips", "ms-turn", "turn", "http", "https".
  virtual std::string_view protocol() const = 0;

  // Observes bytes that the agent forwards unchanged. A deny verdict closes the session.
  virtual Verdict on_data(Direction direction, std::span<const std::uint8_t> bytes) = 0;

  // Inspectors that edit the stream (HTTP Alt-Svc removal) return true and implement filter();
  // the agent then forwards what filter() appends to `out` instead of the input. The default
  // forwards the input unchanged.
  virtual bool rewrites() const { return false; }
  virtual Verdict filter(Direction direction, std::span<const std::uint8_t> in,
                         std::vector<std::uint8_t>& out) {
    out.insert(out.end(), in.begin(), in.end());
    return on_data(direction, in);
  }

  // The peer closed its sending side.
  virtual void on_close(Direction /*direction*/) {}

  // One line for `wirebump sessions` (short, no newlines), e.g. "alice@example.com REGISTER 200".
  virtual std::string brief() const = 0;
  // Full state for `wirebump sessions --json`.
  virtual nlohmann::json detail() const = 0;
};

}  // namespace wb::inspect
