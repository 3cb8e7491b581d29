// wirebump.toml parsing: defaults, every key with a good value, a wrong type and an out-of-range
// value, unknown keys, and that every error names the file, line, column and key.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/build_paths.h"
#include "agent/config/config.h"
#include "tests/config/every_key.h"

namespace wb::config {
namespace {

Config parse_ok(const std::string& text) {
  auto c = parse_config(text, "wirebump.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().context) << "\n--- input:\n" << text;
  return c.ok() ? *c : Config{};
}

std::string parse_err(const std::string& text) {
  auto c = parse_config(text, "wirebump.toml");
  EXPECT_FALSE(c.ok()) << "accepted:\n" << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.error().code, std::make_error_code(std::errc::invalid_argument));
  return c.error().context;
}

// The message starts with "wirebump.toml:LINE:COL: KEY: " and contains `detail`.
void expect_error(const std::string& text, const std::string& where, const std::string& key,
                  const std::string& detail) {
  auto msg = parse_err(text);
  EXPECT_EQ(msg.rfind("wirebump.toml:" + where + ": " + key + ": ", 0), 0u)
      << "message: " << msg << "\n--- input:\n"
      << text;
  EXPECT_NE(msg.find(detail), std::string::npos) << "message: " << msg;
}

TEST(Config, EmptyFileGivesDefaults) {
  auto c = parse_ok("");
  EXPECT_EQ(c.bridge, "br0");
  EXPECT_EQ(c.ports, (std::vector<std::string>{"eth1", "eth2"}));
  EXPECT_EQ(c.state_dir, "/var/lib/wirebump");
  EXPECT_EQ(c.run_dir, "/run/wirebump");
  EXPECT_EQ(c.control_socket(), "/run/wirebump/control.sock");
  EXPECT_EQ(c.pin_dir, "/sys/fs/bpf/wirebump");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.candidate_ports, (std::vector<std::uint16_t>{443, 5061}));
  EXPECT_TRUE(c.bypass_src.empty());
  EXPECT_TRUE(c.bypass_dst.empty());
  EXPECT_TRUE(c.intercept);
  EXPECT_FALSE(c.block_quic);
  EXPECT_EQ(c.xdp, XdpMode::kOff);
  EXPECT_NE(c.steer_mark, 0u);
  EXPECT_NE(c.route_table, 0u);
  EXPECT_EQ(c.limits.max_hello_bytes, 65536u);
  EXPECT_EQ(c.certs.max_validity_days, 397u);
  EXPECT_EQ(c.certs.cache_size, 4096u);
  EXPECT_GE(c.limits.max_sessions, c.limits.max_sessions_per_client);
  EXPECT_EQ(c.on_max_sessions, OnMaxSessions::kRefuse);
  EXPECT_TRUE(c.crl_host.empty());
  EXPECT_EQ(c.trust_store, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_TRUE(c.keylog.empty());
  EXPECT_TRUE(c.tunnel_on_error);
  EXPECT_TRUE(c.speculative_handshake);
  EXPECT_TRUE(c.compact_idle_sessions);
  EXPECT_EQ(c.compact_skip_after, 0u);
  EXPECT_TRUE(c.openssl_builtin_key_methods);
  EXPECT_TRUE(c.detect.https && c.detect.sips && c.detect.sip && c.detect.ms_turn);
  EXPECT_EQ(c.sip_malformed, SipMalformed::kRelay);
  EXPECT_TRUE(c.policy.empty());
}

TEST(Config, EveryKeyAcceptsAGoodValue) {
  auto c = parse_ok(std::string(kEveryKeySet));
  EXPECT_EQ(c.bridge, "wbr1");
  EXPECT_EQ(c.ports.size(), 3u);
  EXPECT_EQ(c.xdp, XdpMode::kNative);
  EXPECT_EQ(c.steer_mark, 0x10u);
  EXPECT_EQ(c.route_table, 300u);
  EXPECT_EQ(c.state_dir, "/srv/wb/state");
  EXPECT_EQ(c.control_socket(), "/srv/wb/run/control.sock");
  EXPECT_EQ(c.pin_dir, "/sys/fs/bpf/wb-test");
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_FALSE(c.intercept);
  EXPECT_TRUE(c.block_quic);
  EXPECT_EQ(c.candidate_ports, (std::vector<std::uint16_t>{443, 8443, 5061}));
  ASSERT_EQ(c.bypass_src.size(), 2u);
  EXPECT_EQ(c.bypass_src[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(c.bypass_src[1].to_string(), "fd00::/8");
  ASSERT_EQ(c.bypass_dst.size(), 2u);
  EXPECT_EQ(c.bypass_dst[0].to_string(), "192.0.2.7/32");
  EXPECT_EQ(c.bypass_dst[1].to_string(), "2001:db8::1/128");
  EXPECT_EQ(c.on_max_sessions, OnMaxSessions::kBypass);
  EXPECT_EQ(c.crl_host, "crl.bridge.example");
  EXPECT_EQ(c.trust_store, "/etc/ssl/my-bundle.pem");
  EXPECT_EQ(c.keylog, "/var/log/wb-keys.txt");
  EXPECT_FALSE(c.tunnel_on_error);
  EXPECT_FALSE(c.speculative_handshake);
  EXPECT_FALSE(c.compact_idle_sessions);
  EXPECT_EQ(c.compact_skip_after, 16u);
  EXPECT_FALSE(c.openssl_builtin_key_methods);
  EXPECT_EQ(c.learned_tunnel_ttl, std::chrono::seconds(600));
  EXPECT_EQ(c.pinning_window, std::chrono::seconds(0));
  EXPECT_EQ(c.sip_malformed, SipMalformed::kDeny);
  EXPECT_EQ(c.limits.max_sessions, 2000u);
  EXPECT_EQ(c.limits.max_sessions_per_client, 100u);
  EXPECT_EQ(c.limits.max_hello_bytes, 16384u);
  EXPECT_EQ(c.timeouts.connect, std::chrono::seconds(3));
  EXPECT_EQ(c.timeouts.first_bytes, std::chrono::seconds(4));
  EXPECT_EQ(c.timeouts.idle, std::chrono::seconds(60));
  EXPECT_EQ(c.timeouts.handshake, std::chrono::seconds(7));
  EXPECT_FALSE(c.detect.https);
  EXPECT_FALSE(c.detect.sips);
  EXPECT_TRUE(c.detect.sip);
  EXPECT_FALSE(c.detect.ms_turn);
  ASSERT_EQ(c.policy.size(), 3u);
  EXPECT_EQ(c.policy[0].sni, "*.bank.example");
  EXPECT_FALSE(c.policy[0].has_dst);
  EXPECT_EQ(c.policy[0].action, PolicyAction::kTunnel);
  EXPECT_EQ(c.policy[0].line, 47);  // where `[[policy]]` stands in kEveryKeySet
  EXPECT_TRUE(c.policy[1].has_dst);
  EXPECT_EQ(c.policy[1].dst.port, 8443);
  EXPECT_EQ(c.policy[1].match_string(), "198.51.100.0/24:8443");
  EXPECT_EQ(c.policy[1].action, PolicyAction::kAllowUndetected);
  EXPECT_EQ(c.policy[2].match_string(), "[2001:db8::/32]:5061");
  EXPECT_EQ(c.policy[2].action, PolicyAction::kDeny);
  EXPECT_EQ(c.certs.max_validity_days, 90u);
  EXPECT_EQ(c.certs.cache_size, 20000u);
}

TEST(Config, XdpModesAndLogLevels) {
  EXPECT_EQ(parse_ok("xdp = \"off\"").xdp, XdpMode::kOff);
  EXPECT_EQ(parse_ok("xdp = \"generic\"").xdp, XdpMode::kGeneric);
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    EXPECT_EQ(parse_ok(std::string("log_level = \"") + level + "\"").log_level, level);
  }
  EXPECT_EQ(parse_ok("keylog = \"\"").keylog, "");
  EXPECT_TRUE(parse_ok("policy = []").policy.empty());
  EXPECT_EQ(parse_ok("crl_host = \"192.0.2.254\"").crl_host, "192.0.2.254");
  EXPECT_EQ(parse_ok("crl_host = \"2001:db8::fe\"").crl_host, "2001:db8::fe");
  EXPECT_TRUE(parse_ok("candidate_ports = []").candidate_ports.empty());
}

// Whatever the certificate service accepts as crl_host, the config accepts (the config's former
// checker refused a bracketed IPv6 address).
TEST(Config, CrlHostAcceptsWhatTheCertificateServiceAccepts) {
  for (const char* host :
       {"crl.example.com", "CRL.Example.COM.", "bridge1", "xn--bcher-kva.example", "192.0.2.254",
        "2001:db8::fe", "[2001:db8::fe]", "[2001:DB8:0::FE]", "::1"}) {
    EXPECT_EQ(parse_ok(std::string("crl_host = \"") + host + "\"").crl_host, host);
  }
  const std::string label63(63, 'a');
  EXPECT_EQ(parse_ok("crl_host = \"" + label63 + ".test\"").crl_host, label63 + ".test");
}

// [certs] bounds: both ends of each range are accepted, the defaults are the library's.
TEST(Config, CertsTableBounds) {
  const auto defaults = parse_ok("[certs]");
  EXPECT_EQ(defaults.certs.max_validity_days, 397u);
  EXPECT_EQ(defaults.certs.cache_size, 4096u);
  EXPECT_EQ(parse_ok("[certs]\nmax_validity_days = 1").certs.max_validity_days, 1u);
  EXPECT_EQ(parse_ok("[certs]\nmax_validity_days = 825").certs.max_validity_days, 825u);
  EXPECT_EQ(parse_ok("[certs]\ncache_size = 16").certs.cache_size, 16u);
  EXPECT_EQ(parse_ok("[certs]\ncache_size = 1000000").certs.cache_size, 1000000u);
  // Setting one leaves the other at its default.
  const auto one = parse_ok("[certs]\nmax_validity_days = 30");
  EXPECT_EQ(one.certs.cache_size, 4096u);
  EXPECT_EQ(parse_ok("certs = { cache_size = 64 }").certs.max_validity_days, 397u);
}

// Each row: input, "line:col", key named in the message, a fragment of the explanation.
struct BadCase {
  const char* text;
  const char* where;
  const char* key;
  const char* detail;
};

class ConfigBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigBad, NamesKeyAndPosition) {
  const auto& p = GetParam();
  expect_error(p.text, p.where, p.key, p.detail);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKey, ConfigBad,
    ::testing::Values(
        // bad types
        BadCase{"bridge = 1", "1:10", "bridge", "expected a string, got an integer"},
        BadCase{"\n\nports = \"eth1\"", "3:9", "ports", "expected an array of interface names"},
        BadCase{"ports = [1, 2]", "1:9", "ports", "expected an array of interface names"},
        BadCase{"xdp = true", "1:7", "xdp", "expected a string"},
        BadCase{"steer_mark = \"x\"", "1:14", "steer_mark", "expected an integer"},
        BadCase{"route_table = 1.5", "1:15", "route_table", "got a float"},
        BadCase{"state_dir = 3", "1:13", "state_dir", "expected a string"},
        BadCase{"run_dir = []", "1:11", "run_dir", "expected a string"},
        BadCase{"pin_dir = false", "1:11", "pin_dir", "expected a string"},
        BadCase{"workers = \"4\"", "1:11", "workers", "expected an integer in 0..1024"},
        BadCase{"log_level = 2", "1:13", "log_level", "expected a string"},
        BadCase{"intercept = \"yes\"", "1:13", "intercept", "expected true or false, got a string"},
        BadCase{"block_quic = 1", "1:14", "block_quic", "expected true or false"},
        BadCase{"candidate_ports = 443", "1:19", "candidate_ports", "expected an array of ports"},
        BadCase{"candidate_ports = [\"443\"]", "1:20", "candidate_ports[0]", "expected an integer"},
        BadCase{"bypass_src = \"10.0.0.0/8\"", "1:14", "bypass_src", "expected an array of CIDR"},
        BadCase{"bypass_dst = [10]", "1:15", "bypass_dst[0]", "expected a string"},
        BadCase{"limits = 5", "1:10", "limits", "expected a table"},
        BadCase{"[limits]\nmax_sessions = \"many\"", "2:16", "limits.max_sessions",
                "expected an integer"},
        BadCase{"on_max_sessions = false", "1:19", "on_max_sessions", "expected a string"},
        BadCase{"timeouts = 1", "1:12", "timeouts", "expected a table"},
        BadCase{"[timeouts]\nidle = \"5m\"", "2:8", "timeouts.idle", "expected an integer"},
        BadCase{"crl_host = 5", "1:12", "crl_host", "expected a string"},
        BadCase{"trust_store = true", "1:15", "trust_store", "expected a string"},
        BadCase{"keylog = 0", "1:10", "keylog", "expected a string"},
        BadCase{"tunnel_on_error = \"on\"", "1:19", "tunnel_on_error", "expected true or false"},
        BadCase{"learned_tunnel_ttl = \"1h\"", "1:22", "learned_tunnel_ttl", "expected an integer"},
        BadCase{"detect = true", "1:10", "detect", "expected a table"},
        BadCase{"[detect]\nsips = \"no\"", "2:8", "detect.sips", "expected true or false"},
        BadCase{"sip_malformed = 0", "1:17", "sip_malformed", "expected a string"},
        BadCase{"policy = 3", "1:10", "policy", "expected [[policy]] tables"},
        // out of range / bad values
        BadCase{"bridge = \"a-very-long-bridge-name\"", "1:10", "bridge", "at most 15 characters"},
        BadCase{"bridge = \"br/0\"", "1:10", "bridge", "not an interface name"},
        BadCase{"ports = []", "1:9", "ports", "at least one bridge port"},
        BadCase{"ports = [\"eth1\", \"eth1\"]", "1:18", "ports[1]", "listed twice"},
        BadCase{"ports = [\"eth 1\"]", "1:10", "ports[0]", "not an interface name"},
        BadCase{"xdp = \"fast\"", "1:7", "xdp", "expected \"off\", \"generic\" or \"native\""},
        BadCase{"steer_mark = 0", "1:14", "steer_mark", "0 is out of range (1..4294967295)"},
        BadCase{"route_table = 254", "1:15", "route_table", "reserved table"},
        BadCase{"route_table = 0", "1:15", "route_table", "out of range"},
        BadCase{"state_dir = \"relative/dir\"", "1:13", "state_dir", "expected an absolute path"},
        BadCase{"run_dir = \"\"", "1:11", "run_dir", "expected an absolute path"},
        BadCase{"pin_dir = \"/tmp/pins\"", "1:11", "pin_dir", "under /sys/fs/bpf"},
        BadCase{"workers = -1", "1:11", "workers", "-1 is out of range (0..1024)"},
        BadCase{"workers = 5000", "1:11", "workers", "5000 is out of range"},
        BadCase{"compact_skip_after = -1", "1:22", "compact_skip_after",
                "-1 is out of range (0..1000000): sessions closed before going quiet"},
        BadCase{"compact_skip_after = true", "1:22", "compact_skip_after", "expected an integer"},
        BadCase{"log_level = \"loud\"", "1:13", "log_level", "got \"loud\""},
        BadCase{"log_level = \"critical\"", "1:13", "log_level", "\"error\" or \"off\""},
        BadCase{"candidate_ports = [0]", "1:20", "candidate_ports[0]", "out of range (1..65535)"},
        BadCase{"candidate_ports = [65536]", "1:20", "candidate_ports[0]", "out of range"},
        BadCase{"candidate_ports = [443, 443]", "1:25", "candidate_ports[1]", "listed twice"},
        BadCase{"bypass_src = [\"10.0.0.0/33\"]", "1:15", "bypass_src[0]", "prefix length"},
        BadCase{"bypass_src = [\"10.0.0.1/8\"]", "1:15", "bypass_src[0]",
                "host bits set (did you mean 10.0.0.0/8?)"},
        BadCase{"bypass_dst = [\"not-an-ip\"]", "1:15", "bypass_dst[0]", "not an IPv4 or IPv6"},
        BadCase{"bypass_dst = [\"2001:db8::/129\"]", "1:15", "bypass_dst[0]", "0..128"},
        BadCase{"bypass_dst = [\"10.0.0.0/8\", \"10.0.0.0/8\"]", "1:29", "bypass_dst[1]",
                "listed twice"},
        BadCase{"[limits]\nmax_sessions = 0", "2:16", "limits.max_sessions", "out of range"},
        BadCase{"[limits]\nmax_sessions_per_client = 2000000", "2:27",
                "limits.max_sessions_per_client", "out of range"},
        BadCase{"[limits]\nmax_hello_bytes = 100", "2:19", "limits.max_hello_bytes",
                "out of range (1024..1048576)"},
        BadCase{"on_max_sessions = \"drop\"", "1:19", "on_max_sessions",
                "\"refuse\" or \"bypass\""},
        BadCase{"[timeouts]\nconnect = 0", "2:11", "timeouts.connect", "out of range (1..300)"},
        BadCase{"[timeouts]\nfirst_bytes = 301", "2:15", "timeouts.first_bytes", "out of range"},
        BadCase{"[timeouts]\nidle = 86401", "2:8", "timeouts.idle", "out of range (1..86400)"},
        BadCase{"[timeouts]\nhandshake = -5", "2:13", "timeouts.handshake", "out of range"},
        // crl_host: the certificate service's own reasons (certs::validate_crl_host)
        BadCase{"crl_host = \"http://crl.example\"", "1:12", "crl_host", "has a URL scheme"},
        BadCase{"crl_host = \"crl.example/wirebump\"", "1:12", "crl_host", "has a path"},
        BadCase{"crl_host = \"crl.example:80\"", "1:12", "crl_host", "has a port"},
        BadCase{"crl_host = \"192.0.2.1:80\"", "1:12", "crl_host", "has a port"},
        BadCase{"crl_host = \"bad_host\"", "1:12", "crl_host", "contains '_'"},
        BadCase{"crl_host = \"300.1.1.1\"", "1:12", "crl_host", "not a valid IPv4 address"},
        BadCase{"crl_host = \"\"", "1:12", "crl_host", "empty"},
        BadCase{"crl_host = \"a..b\"", "1:12", "crl_host", "empty label"},
        // ... where the config's former checker gave a wrong one ("without a port", "letters,
        // digits, '-' and '.' only")
        BadCase{"crl_host = \"[2001:db8::1\"", "1:12", "crl_host", "'[' without closing ']'"},
        BadCase{"crl_host = \"[2001:db8::1]:80\"", "1:12", "crl_host", "without closing ']'"},
        BadCase{"crl_host = \"fe80::1%eth0\"", "1:12", "crl_host", "zone ids are not allowed"},
        BadCase{"crl_host = \"2001:db8:::1\"", "1:12", "crl_host", "not a valid IPv6 address"},
        BadCase{"\n crl_host = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                ".example\"",
                "2:13", "crl_host", "has a label longer than 63 characters"},
        // [certs]
        BadCase{"certs = 1", "1:9", "certs", "expected a table"},
        BadCase{"[certs]\nmax_validity_days = \"30d\"", "2:21", "certs.max_validity_days",
                "expected an integer in 1..825"},
        BadCase{"[certs]\nmax_validity_days = 0", "2:21", "certs.max_validity_days",
                "0 is out of range (1..825): days; 825 is the CA/Browser Forum maximum"},
        BadCase{"[certs]\nmax_validity_days = 826", "2:21", "certs.max_validity_days",
                "826 is out of range (1..825)"},
        BadCase{"[certs]\nmax_validity_days = 1.5", "2:21", "certs.max_validity_days",
                "got a float"},
        BadCase{"[certs]\ncache_size = 15", "2:14", "certs.cache_size",
                "15 is out of range (16..1000000): forged certificates kept in memory"},
        BadCase{"[certs]\ncache_size = 1000001", "2:14", "certs.cache_size", "out of range"},
        BadCase{"[certs]\ncache_size = -1", "2:14", "certs.cache_size", "out of range"},
        BadCase{"[certs]\ncache_size = true", "2:14", "certs.cache_size", "expected an integer"},
        BadCase{"[certs]\nmax_validity_day = 30", "2:1", "certs.max_validity_day",
                "did you mean \"certs.max_validity_days\""},
        BadCase{"trust_store = \"certs.pem\"", "1:15", "trust_store", "absolute path"},
        BadCase{"keylog = \"keys.txt\"", "1:10", "keylog", "absolute path"},
        BadCase{"learned_tunnel_ttl = 0", "1:22", "learned_tunnel_ttl", "out of range"},
        BadCase{"learned_tunnel_ttl = 999999999", "1:22", "learned_tunnel_ttl", "out of range"},
        BadCase{"sip_malformed = \"drop\"", "1:17", "sip_malformed", "\"relay\" or \"deny\""},
        // unknown keys, at top level and inside tables, with suggestions
        BadCase{"bridge = \"br0\"\nbrigde = \"br1\"", "2:1", "brigde",
                "unknown key (did you mean \"bridge\"?)"},
        BadCase{"[limits]\nmax_session = 5", "2:1", "limits.max_session",
                "unknown key (did you mean \"limits.max_sessions\"?)"},
        BadCase{"[timeouts]\nread = 5", "2:1", "timeouts.read", "unknown key"},
        BadCase{"[detect]\nhttp = true", "2:1", "detect.http", "did you mean \"detect.https\""},
        BadCase{"[detect]\nquic = true", "2:1", "detect.quic", "unknown key"},
        BadCase{"[[policy]]\nsni = \"a.example\"\naction = \"tunnel\"\nport = 443", "4:1",
                "policy[0].port", "unknown key"},
        BadCase{"colour = \"blue\"", "1:1", "colour", "unknown key"},
        // policy rules
        BadCase{"[[policy]]\naction = \"tunnel\"", "1:1", "policy[0]", "exactly one of sni"},
        BadCase{"[[policy]]\nsni = \"a.example\"\ndst = \"10.0.0.0/8\"\naction = \"deny\"", "1:1",
                "policy[0]", "exactly one of sni"},
        BadCase{"[[policy]]\nsni = \"a.example\"", "1:1", "policy[0]", "missing action"},
        BadCase{"[[policy]]\nsni = \"a.example\"\naction = \"block\"", "3:10", "policy[0].action",
                "\"intercept\", \"tunnel\", \"deny\" or \"allow-undetected\""},
        BadCase{"[[policy]]\nsni = \"*.*.example\"\naction = \"deny\"", "2:7", "policy[0].sni",
                "only one leading"},
        BadCase{"[[policy]]\nsni = \"a..example\"\naction = \"deny\"", "2:7", "policy[0].sni",
                "not a server name"},
        BadCase{"[[policy]]\ndst = \"10.0.0.0/8:0\"\naction = \"deny\"", "2:7", "policy[0].dst",
                "not a port"},
        BadCase{"[[policy]]\ndst = \"10.0.0.0/8:99999\"\naction = \"deny\"", "2:7", "policy[0].dst",
                "not a port"},
        BadCase{"[[policy]]\ndst = \"[2001:db8::/32\"\naction = \"deny\"", "2:7", "policy[0].dst",
                "missing ']'"},
        BadCase{"[[policy]]\nsni = \"ok.example\"\naction = \"deny\"\n[[policy]]\ndst = "
                "\"10.1.2.3/8\"\naction = \"deny\"",
                "5:7", "policy[1].dst", "host bits set"}));

TEST(Config, SyntaxErrorsCarryLineAndColumn) {
  auto msg = parse_err("bridge = \"br0\"\nports = [\"eth1\",\n");
  EXPECT_EQ(msg.rfind("wirebump.toml:", 0), 0u) << msg;
  EXPECT_EQ(msg.rfind("wirebump.toml:2:18: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("end-of-file"), std::string::npos) << msg;
  auto dup = parse_err("workers = 1\nworkers = 2\n");
  EXPECT_EQ(dup.rfind("wirebump.toml:2:", 0), 0u) << dup;
  EXPECT_NE(dup.find("workers"), std::string::npos) << dup;
}

TEST(Config, WholeFileChecks) {
  auto own = parse_err("bridge = \"br0\"\nports = [\"br0\", \"eth2\"]");
  EXPECT_NE(own.find("ports: the bridge \"br0\" cannot be one of its own ports"), std::string::npos)
      << own;
  auto limits = parse_err("[limits]\nmax_sessions = 10\nmax_sessions_per_client = 11");
  EXPECT_NE(limits.find("limits.max_sessions_per_client: 11 is larger than limits.max_sessions"),
            std::string::npos)
      << limits;
}

TEST(Config, LoadFileNamesThePath) {
  auto dir =
      std::filesystem::temp_directory_path() / ("wb-config-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "wirebump.toml";
  { std::ofstream(path) << "bridge = \"br9\"\n\nworkers = 99999\n"; }
  auto bad = load_config(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().context.rfind(path.string() + ":3:11: workers: ", 0), 0u)
      << bad.error().context;
  { std::ofstream(path) << "bridge = \"br9\"\n"; }
  auto good = load_config(path);
  ASSERT_TRUE(good.ok()) << good.error().context;
  EXPECT_EQ(good->bridge, "br9");
  auto missing = load_config(dir / "absent.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().code == std::errc::no_such_file_or_directory)
      << missing.error().message();
  EXPECT_NE(missing.error().message().find("absent.toml"), std::string::npos);
  {
    std::ofstream big(path);
    big << std::string(kMaxConfigBytes + 10, '#');
  }
  auto huge = load_config(path);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, std::make_error_code(std::errc::file_too_large));
  std::filesystem::remove_all(dir);
}

// The shipped example must parse and be complete: it documents every key (the key table
// above rejects unknown ones, so parsing proves none is misspelt).
TEST(Config, ShippedExampleParses) {
  auto c = load_config(std::filesystem::path(WB_SOURCE_DIR) / "deploy/wirebump.toml");
  ASSERT_TRUE(c.ok()) << c.error().context;
  EXPECT_EQ(c->bridge, "br0");
}

// Truncating a valid file at every byte never crashes and either parses or names a position.
TEST(Config, EveryPrefixOfAValidFileIsHandled) {
  const std::string text =
      "bridge = \"br0\"\nports = [\"eth1\", \"eth2\"]\n[limits]\nmax_sessions = 100\n"
      "[[policy]]\nsni = \"*.example.com\"\naction = \"tunnel\"\n";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto c = parse_config(std::string_view(text).substr(0, n), "t.toml");
    if (!c.ok()) {
      EXPECT_EQ(c.error().context.rfind("t.toml:", 0), 0u) << c.error().context;
    }
  }
}

}  // namespace
}  // namespace wb::config
