// The agent's configuration: one TOML file (deploy/wirebump.toml documents every key), read once
// at start-up into wb::config::Config. Every key has a default, so an empty file is a valid
// configuration; unknown keys are errors, because a typo silently ignored is a policy not applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "agent/config/cidr.h"

namespace wb::config {

enum class XdpMode { kOff, kGeneric, kNative };
enum class OnMaxSessions { kRefuse, kBypass };  // what happens to a connection beyond the limit
enum class SipMalformed { kRelay, kDeny };
enum class PolicyAction { kIntercept, kTunnel, kDeny, kAllowUndetected };

std::string_view to_string(XdpMode mode);
std::string_view to_string(OnMaxSessions mode);
std::string_view to_string(SipMalformed mode);
std::string_view to_string(PolicyAction action);
Result<PolicyAction> parse_policy_action(std::string_view text);

struct Limits {
  std::uint32_t max_sessions = 10000;           // concurrent sessions, whole agent
  std::uint32_t max_sessions_per_client = 512;  // concurrent sessions per client address
  std::uint32_t max_hello_bytes = 64 * 1024;    // first bytes peeked before deciding
};

struct Timeouts {
  std::chrono::seconds connect{10};      // upstream TCP connect
  std::chrono::seconds first_bytes{10};  // client silent after accept
  std::chrono::seconds idle{300};        // no byte either way
  std::chrono::seconds handshake{15};    // each TLS handshake (client and upstream legs)
};

// Protocol detection inside intercepted TLS / on the first bytes; off means tunnel such traffic.
struct Detect {
  bool https = true;
  bool sips = true;
  bool sip = true;
  bool ms_turn = true;
};

// [certs]: forged certificates. The bounds are the config's, checked at parse time; the
// certificate service itself only needs both positive.
struct Certs {
  // A forged certificate is valid at most this long (also never past the real one's notAfter or
  // the issuer's). 397 days is what browsers accept for new certificates; 825 is the CA/B limit
  // older clients enforce, so nothing longer is allowed.
  std::uint32_t max_validity_days = 397;
  // Forged certificates kept (LRU, keyed by server certificate, key type and issuer); a miss
  // costs one signature on the forging thread, an entry a few KiB.
  std::uint32_t cache_size = 4096;
};
inline constexpr std::uint32_t kMinValidityDays = 1, kMaxValidityDays = 825;
inline constexpr std::uint32_t kMinCertCache = 16, kMaxCertCache = 1000000;

// One [[policy]] rule: exactly one of sni / dst is set.
struct PolicyRule {
  std::string sni;  // exact host name or "*.example.com"; empty when dst is used
  bool has_dst = false;
  DstMatch dst;
  PolicyAction action = PolicyAction::kIntercept;
  int line = 0;  // where it was written, for messages

  std::string match_string() const { return has_dst ? dst.to_string() : sni; }
};

struct Config {
  // Bridge and ports.
  std::string bridge = "br0";
  std::vector<std::string> ports = {"eth1", "eth2"};
  XdpMode xdp = XdpMode::kOff;
  std::uint32_t steer_mark = 0x00776200;  // skb->mark on steered frames ("wb" in hex)
  std::uint32_t route_table = 2076;       // policy-routing table holding the local route

  // Files.
  std::filesystem::path state_dir = "/var/lib/wirebump";   // CA keyrings, CRL state
  std::filesystem::path run_dir = "/run/wirebump";         // control socket
  std::filesystem::path pin_dir = "/sys/fs/bpf/wirebump";  // pinned maps

  // Agent.
  unsigned workers = 0;  // 0: one per CPU
  std::string log_level = "info";

  // Kernel policy (also changeable at run time through the CLI).
  bool intercept = true;
  bool block_quic = false;
  std::vector<std::uint16_t> candidate_ports = {443, 5061};
  std::vector<Cidr> bypass_src;
  std::vector<Cidr> bypass_dst;

  Limits limits;
  OnMaxSessions on_max_sessions = OnMaxSessions::kRefuse;
  Timeouts timeouts;

  // Certificates and interception.
  std::string crl_host;  // empty: the agent uses the bridge's first IPv4 address
  std::filesystem::path trust_store = "/etc/ssl/certs/ca-certificates.crt";
  std::filesystem::path keylog;  // empty: no key log
  bool tunnel_on_error = true;
  // Answer a client from the certificate forged for the same server last time while the upstream
  // handshake runs (agent/intercept/speculation_hints.h); false: always one after the other.
  bool speculative_handshake = true;
  // A quiet intercepted session's TLS 1.3 and TLS 1.2 AEAD legs leave OpenSSL for wirebump's own
  // record layers and free their SSL objects (agent/intercept/handoff_tracker.h); false: OpenSSL
  // runs every session to the end.
  bool compact_idle_sessions = true;
  // A destination whose last N intercepted sessions all closed before going quiet: its next
  // sessions skip the key-log tracking compaction needs, until one of them goes quiet again
  // (agent/intercept/quiet_history.h). Off (0, every session tracked) by default: a destination
  // whose sessions turn from short to long-lived loses compaction for the sessions opened before
  // the first of them goes quiet, which a burst of new idle connections makes all of them.
  std::uint32_t compact_skip_after = 0;
  // Certificates' RSA and EC keys are parsed and used through OpenSSL's built-in key methods
  // instead of its provider decoders, ~100 us less CPU per full upstream handshake on OpenSSL 3.0
  // (agent/intercept/builtin_key_methods.h); false: OpenSSL's defaults. Never in FIPS mode.
  bool openssl_builtin_key_methods = true;
  std::chrono::seconds learned_tunnel_ttl{3600};
  std::chrono::seconds pinning_window{2};  // 0: never learn from a client leaving silently
  Certs certs;
  Detect detect;
  SipMalformed sip_malformed = SipMalformed::kRelay;
  std::vector<PolicyRule> policy;

  std::filesystem::path control_socket() const { return run_dir / "control.sock"; }
};

inline constexpr const char* kDefaultConfigPath = "/etc/wirebump/wirebump.toml";
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

// Parses TOML text. `source` names it in errors ("wirebump.toml:12:9: ports: ..."). Errors are
// std::errc::invalid_argument with the whole human message in Error::context.
Result<Config> parse_config(std::string_view text, std::string_view source);

// Reads and parses a file (at most kMaxConfigBytes).
Result<Config> load_config(const std::filesystem::path& path);

}  // namespace wb::config
