// The interception policy: rules, per-protocol detection switches, the undetected-protocol
// policy (the note's Policy 2), tunnel on error, and the learned-tunnel table. One Policy is
// shared by all workers (thread-safe); the control socket changes it at run time. Pure logic:
// no sockets, no TLS; the interception handler asks it what to do at three points.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "agent/policy/address.h"
#include "agent/policy/learned_tunnels.h"
#include "agent/policy/rules.h"
#include "agent/session/session_types.h"

namespace wb::policy {

// Protocols whose detection can be switched off (`wirebump detect on|off P`), as the note's
// detect_protocol[https,sips,sip](no). ms-turn covers the pseudo-TLS hello, MS-TURN framing and
// STUN/TURN found inside TLS.
enum class Detect : std::uint8_t { kHttps, kSips, kSip, kMsTurn };
inline constexpr std::size_t kDetectCount = 4;
std::string_view to_string(Detect d);
Result<Detect> parse_detect(std::string_view text);

// What the first bytes of a connection were (from the first-bytes classifier).
enum class FirstBytes : std::uint8_t {
  kTls,
  kPseudoTls,
  kSip,
  kStunTurn,
  kMsTurnFraming,
  kHttp,
  kUnknown
};
// What the first decrypted bytes inside intercepted TLS were.
enum class Inner : std::uint8_t { kHttp, kSip, kMsTurn, kTurn, kUndetected };

// Protocol labels are the session table's (HTTPS, HTTP, SIPS, SIP, MS-TURN, TURN, TUNNEL, UNKNOWN).
using Label = session::Protocol;

struct Decision {
  enum class Kind : std::uint8_t {
    kIntercept,  // TLS: terminate both ways (allow_undetected says what Policy 2 does)
    kInspect,    // plaintext / decrypted: hand to the inspector for `label`
    kTunnel,     // relay untouched (or, inside TLS, pass decrypted bytes through uninspected)
    kDeny,       // close
  };
  Kind kind = Kind::kIntercept;
  Label label = Label::kUnknown;
  bool allow_undetected = false;
  std::string reason;  // for logs and `wirebump sessions`: "rule 3 (sni=*.example.com)", ...
};

struct PolicySettings {
  struct RuleSpec {
    std::string sni;  // pattern, may be empty
    std::string dst;  // "CIDR[:PORT]", may be empty
    std::string action = "intercept";
  };
  std::vector<RuleSpec> rules;
  std::vector<std::pair<std::string, bool>> detect;  // {"sips", false}, ...
  bool tunnel_on_error = true;
  bool deny_unknown_plaintext = false;  // unknown plaintext on a steered port: relay by default
  std::chrono::seconds learned_ttl = std::chrono::hours(1);
  std::size_t learned_capacity = 16384;
};

struct PolicyCounters {
  std::uint64_t undetected_denied = 0;
  std::uint64_t undetected_allowed = 0;
  std::uint64_t tunnelled_by_rule = 0;
  std::uint64_t tunnelled_learned = 0;
  std::uint64_t tunnelled_detection_off = 0;
  std::uint64_t denied_by_rule = 0;
  std::uint64_t learned = 0;
};

class Policy {
 public:
  Policy();
  // Builds a policy from configuration; errors name the offending rule or protocol.
  static Result<std::unique_ptr<Policy>> create(const PolicySettings& settings);

  // ---- decisions (called by the interception handler) ----
  // A real TLS ClientHello arrived (sni may be empty, alpn = the client's list).
  Decision decide_tls(std::string_view sni, std::span<const std::string> alpn,
                      const Destination& dst, Clock::time_point now);
  // Something else arrived first.
  Decision decide_plaintext(FirstBytes kind, const Destination& dst);
  // First decrypted bytes of an intercepted session were classified as `inner`. May learn the
  // destination (detection off) and counts undetected protocols.
  Decision decide_inner(Inner inner, std::string_view sni, const Destination& dst,
                        bool allow_undetected, Clock::time_point now);
  // Interception failed in a way that should make the next connections tunnel from the start.
  void learn_failure(std::string_view sni, const Destination& dst, LearnReason reason,
                     std::string detail, Clock::time_point now);

  // ---- control ----
  Result<std::uint32_t> add_rule(Match match, Action action);
  bool remove_rule(std::uint32_t id);
  std::vector<Rule> rules() const;
  void set_detect(Detect d, bool on);  // switching on forgets what was learned for it
  bool detect(Detect d) const { return detect_[static_cast<std::size_t>(d)].load(); }
  void set_tunnel_on_error(bool on) { tunnel_on_error_.store(on); }
  bool tunnel_on_error() const { return tunnel_on_error_.load(); }
  void set_deny_unknown_plaintext(bool on) { deny_unknown_plaintext_.store(on); }
  LearnedTunnels& learned() { return learned_; }
  PolicyCounters counters() const;

 private:
  std::optional<Decision> rule_decision(std::string_view sni, const Destination& dst);

  mutable std::shared_mutex rules_mu_;
  RuleSet rules_;
  std::atomic<bool> detect_[kDetectCount];
  std::atomic<bool> tunnel_on_error_{true};
  std::atomic<bool> deny_unknown_plaintext_{false};
  LearnedTunnels learned_;
  struct AtomicCounters {
    std::atomic<std::uint64_t> undetected_denied{0}, undetected_allowed{0}, tunnelled_by_rule{0},
        tunnelled_learned{0}, tunnelled_detection_off{0}, denied_by_rule{0}, learned{0};
  } counters_;
};

}  // namespace wb::policy
