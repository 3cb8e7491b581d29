// The CLI against a real ControlServer with fixed answers: what it sends (the documented request
// of PROTOCOL.md) and how it renders every result, in aligned columns and as --json.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "agent/control/protocol.h"
#include "tests/cli/cli_fixture.h"

namespace wb::cli_test {
namespace {

using nlohmann::json;

// The line holding `header` and the first later line holding `row_key`: the cell `value` starts
// (left) or ends (right) exactly where the header does.
void expect_cell(const std::string& out, const std::string& header, const std::string& row_key,
                 const std::string& value, bool right_aligned) {
  auto ls = lines(out);
  std::size_t h = 0;
  while (h < ls.size() && ls[h].find(header) == std::string::npos) ++h;
  ASSERT_LT(h, ls.size()) << "no header " << header << " in\n" << out;
  std::size_t r = h + 1;
  while (r < ls.size() && ls[r].find(row_key) == std::string::npos) ++r;
  ASSERT_LT(r, ls.size()) << "no row " << row_key << " in\n" << out;
  auto at = ls[r].find(value);
  ASSERT_NE(at, std::string::npos) << value << " not in row: " << ls[r];
  auto col = ls[h].find(header);
  if (right_aligned) {
    EXPECT_EQ(at + value.size(), col + header.size())
        << "not right-aligned under " << header << ":\n"
        << ls[h] << "\n"
        << ls[r];
  } else {
    EXPECT_EQ(at, col) << "not under " << header << ":\n" << ls[h] << "\n" << ls[r];
  }
}

std::string iso(std::int64_t t) {
  std::time_t tt = t;
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

class CliRoundTrip : public AgentFixture {};

const json kStatus = {
    {"agent",
     {{"state", "running"},
      {"pid", 4242},
      {"version", "0.1.0"},
      {"uptime_s", 3725},
      {"workers", 2}}},
    {"intercept", true},
    {"block_quic", false},
    {"candidate_ports", {443, 5061}},
    {"detect", {{"https", true}, {"sips", false}, {"sip", true}, {"ms-turn", true}}},
    {"interfaces",
     {{{"name", "br0"}, {"role", "bridge"}, {"ifindex", 7}, {"hooks", json::array()}},
      {{"name", "eth1"}, {"role", "port"}, {"ifindex", 12}, {"hooks", {"tc", "xdp-generic"}}},
      {{"name", "eth2"}, {"role", "port"}, {"ifindex", 130}, {"hooks", {"tc"}}}}},
    {"counters",
     {{{"verdict", "bypass"},
       {"reason", "not_candidate"},
       {"packets", 123456},
       {"bytes", 987654321}},
      {{"verdict", "steer"}, {"reason", "steer_syn"}, {"packets", 7}, {"bytes", 420}},
      {{"verdict", "drop"}, {"reason", "quic_blocked"}, {"packets", 3}, {"bytes", 3600}},
      {{"verdict", "bypass"}, {"reason", "agent_down"}, {"packets", 0}, {"bytes", 0}}}},
    {"sessions",
     {{"active", 3},
      {"max", 10000},
      {"refused", 1},
      {"by_protocol", {{"https", 2}, {"ms-turn", 1}}}}},
    {"relay",
     {{"accepted", 812},
      {"upstream_failed", 1},
      {"upstream_port_fallback", 4},
      {"bytes_spliced", 3 * 1024 * 1024}}},
    {"interception",
     {{"intercepted", 640},
      {"tunnelled", 150},
      {"tunnelled_on_error", 3},
      {"client_rejected", 1},
      {"denied", 2},
      {"forged", 640},
      {"forge_queued", 12},
      {"forge_errors", 0},
      {"upstream_resumed", 410},
      {"untrusted_upstreams", 5},
      {"speculative", 300},
      {"speculative_aborted", 2},
      {"verify_cache_hits", 220},
      {"verify_cache_misses", 8},
      {"compacted", 380},
      {"compaction_untracked", 1200},
      {"compaction_untracked_quiet", 3},
      {"builtin_key_methods", true}}},
    {"certs",
     {{"cache", {{"hits", 10}, {"misses", 2}, {"evictions", 0}, {"size", 2}, {"capacity", 1024}}},
      {"key_pool",
       {{"ec", 4}, {"ec_wanted", 4}, {"rsa", 1}, {"rsa_wanted", 2}, {"done", false}}}}}};

TEST_F(CliRoundTrip, Status) {
  answer("status", kStatus);
  auto r = cli("status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("agent          running (pid 4242, version 0.1.0, up 1h02m, 2 workers)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("interception   on\n"), std::string::npos);
  EXPECT_NE(r.out.find("quic           allowed\n"), std::string::npos);
  EXPECT_NE(r.out.find("ports          443 5061\n"), std::string::npos);
  EXPECT_NE(r.out.find("detection      https on, ms-turn on, sip on, sips off\n"),
            std::string::npos)
      << r.out;
  expect_cell(r.out, "ROLE", "eth1", "port", false);
  expect_cell(r.out, "IFINDEX", "eth1", "12", true);
  expect_cell(r.out, "IFINDEX", "eth2", "130", true);
  expect_cell(r.out, "HOOKS", "eth1", "tc,xdp-generic", false);
  expect_cell(r.out, "REASON", "not_candidate", "not_candidate", false);
  expect_cell(r.out, "PACKETS", "not_candidate", "123456", true);
  expect_cell(r.out, "PACKETS", "steer_syn", "7", true);
  expect_cell(r.out, "BYTES", "not_candidate", "942 MiB", false);
  expect_cell(r.out, "BYTES", "quic_blocked", "3.5 KiB", false);
  EXPECT_EQ(r.out.find("agent_down"), std::string::npos) << "zero rows are not shown";
  EXPECT_NE(r.out.find("sessions       3 active (max 10000, refused 1)"), std::string::npos);
  expect_cell(r.out, "SESSIONS", "ms-turn", "1", true);
  EXPECT_NE(r.out.find("cert cache     hits 10, misses 2, evictions 0, size 2/1024"),
            std::string::npos);
  EXPECT_NE(r.out.find("key pool       EC 4/4, RSA 1/2 (generating)\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("relay          accepted 812, upstream failed 1, port fallback 4, "
                       "spliced 3.0 MiB\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("intercepted    640 (tunnelled 150, on error 3, client rejected 1, "
                       "denied 2)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("forging        640 forged (12 off the loop, 0 errors), upstream resumed "
                       "410, untrusted upstreams 5\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("speculative    300 (aborted 2), upstream verification kept 220, "
                       "verified 8\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("key methods    OpenSSL built-in (RSA, EC)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("compacted      380 TLS legs (quiet sessions on wirebump's record layer); "
                       "untracked 1200 sessions of busy destinations (3 went quiet)\n"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(last_args("status").is_object());

  auto j = cli("status --json");
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_EQ(json::parse(j.out), kStatus);
}

TEST_F(CliRoundTrip, StatusWithMissingFieldsDoesNotCrash) {
  answer("status", json::object());
  auto r = cli("status");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("agent          - (pid -"), std::string::npos) << r.out;
  answer("status",
         json{{"counters", "not-a-list"}, {"agent", 5}, {"sessions", {{"by_protocol", 3}}}});
  EXPECT_EQ(cli("status").exit_code, 0);
}

TEST_F(CliRoundTrip, Switches) {
  answer("intercept.set", {{"intercept", false}});
  auto off = cli("intercept off");
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.out, "interception off\n");
  EXPECT_EQ(last_args("intercept.set"), json({{"enabled", false}}));
  answer("intercept.set", {{"intercept", true}});
  EXPECT_EQ(cli("intercept on").out, "interception on\n");
  EXPECT_EQ(last_args("intercept.set"), json({{"enabled", true}}));
  EXPECT_EQ(json::parse(cli("intercept on --json").out), json({{"intercept", true}}));

  answer("quic.set", {{"block_quic", true}});
  EXPECT_EQ(cli("quic block").out, "quic blocked\n");
  EXPECT_EQ(last_args("quic.set"), json({{"block", true}}));
  answer("quic.set", {{"block_quic", false}});
  EXPECT_EQ(cli("quic allow").out, "quic allowed\n");
  EXPECT_EQ(last_args("quic.set"), json({{"block", false}}));

  json detect = {{"detect", {{"https", true}, {"sips", false}, {"sip", true}, {"ms-turn", true}}}};
  answer("detect.set", detect);
  auto d = cli("detect off sips");
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(last_args("detect.set"), json({{"protocol", "sips"}, {"enabled", false}}));
  expect_cell(d.out, "DETECTION", "sips", "off", false);
  expect_cell(d.out, "DETECTION", "ms-turn", "on", false);
  EXPECT_EQ(json::parse(cli("detect on ms-turn --json").out), detect);
  EXPECT_EQ(last_args("detect.set"), json({{"protocol", "ms-turn"}, {"enabled", true}}));
}

TEST_F(CliRoundTrip, Ports) {
  answer("ports.list", {{"ports", {443, 5061, 8443}}});
  answer("ports.add", {{"ports", {443, 5061, 8443}}});
  answer("ports.del", {{"ports", json::array()}});
  auto l = cli("ports list");
  EXPECT_EQ(l.exit_code, 0);
  EXPECT_EQ(l.out, "PORT\n 443\n5061\n8443\n");
  EXPECT_EQ(json::parse(cli("ports list --json").out)["ports"][2], 8443);
  auto a = cli("ports add 8443");
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(last_args("ports.add"), json({{"port", 8443}}));
  EXPECT_NE(a.out.find("8443"), std::string::npos);
  auto d = cli("ports del 443");
  EXPECT_EQ(last_args("ports.del"), json({{"port", 443}}));
  EXPECT_EQ(d.out, "no candidate ports: nothing is steered to the agent\n");
}

TEST_F(CliRoundTrip, Bypass) {
  json lists = {{"src", {"10.0.0.0/8"}}, {"dst", {"192.0.2.0/24", "2001:db8::/32"}}};
  answer("bypass.list", lists);
  answer("bypass.add", lists);
  answer("bypass.del", lists);
  auto l = cli("bypass list");
  EXPECT_EQ(l.exit_code, 0);
  expect_cell(l.out, "CIDR", "10.0.0.0/8", "10.0.0.0/8", false);
  expect_cell(l.out, "CIDR", "2001:db8", "2001:db8::/32", false);
  auto src = cli("bypass list --src");
  EXPECT_EQ(src.out.find("192.0.2.0/24"), std::string::npos) << src.out;
  EXPECT_NE(src.out.find("10.0.0.0/8"), std::string::npos);
  auto dst = cli("bypass list --dst");
  EXPECT_EQ(dst.out.find("10.0.0.0/8"), std::string::npos) << dst.out;
  EXPECT_EQ(json::parse(cli("bypass list --json").out), lists);

  EXPECT_EQ(cli("bypass add 192.0.2.0/24").exit_code, 0);
  EXPECT_EQ(last_args("bypass.add"), json({{"side", "dst"}, {"cidr", "192.0.2.0/24"}}));
  EXPECT_EQ(cli("bypass add --src 10.0.0.0/8").exit_code, 0);
  EXPECT_EQ(last_args("bypass.add"), json({{"side", "src"}, {"cidr", "10.0.0.0/8"}}));
  // A bare address is sent as its /32 or /128 prefix, IPv6 in canonical form.
  EXPECT_EQ(cli("bypass del --dst 2001:DB8:0::1").exit_code, 0);
  EXPECT_EQ(last_args("bypass.del"), json({{"side", "dst"}, {"cidr", "2001:db8::1/128"}}));
}

TEST_F(CliRoundTrip, SessionsFilteredAndRendered) {
  const std::int64_t now = std::time(nullptr);
  json sessions = {{{"id", 3},
                    {"client", "192.0.2.1:40002"},
                    {"server", "192.0.2.2:443"},
                    {"sni", ""},
                    {"protocol", "ms-turn"},
                    {"state", "established"},
                    {"verdict", "relay"},
                    {"reason", "pseudo-tls"},
                    {"bytes_from_client", 2048},
                    {"bytes_from_server", 5 << 20},
                    {"start", iso(now - 3700)},
                    {"last_activity", iso(now - 5)},
                    {"inspector",
                     {{"brief", "allocs=1 relayed=192.0.2.2:50000 media=5.0 MiB"},
                      {"detail", {{"allocations", 1}}}}}},
                   {{"id", 1},
                    {"client", "[2001:db8::1]:40000"},
                    {"server", "[2001:db8::2]:443"},
                    {"sni", "www.example.com"},
                    {"protocol", "https"},
                    {"state", "established"},
                    {"verdict", "intercept"},
                    {"reason", ""},
                    {"bytes_from_client", 512},
                    {"bytes_from_server", 1000000},
                    {"start", iso(now - 10)},
                    {"last_activity", iso(now)},
                    {"inspector", {{"brief", "GET www.example.com/ 200"}, {"detail", nullptr}}}},
                   {{"id", 2},
                    {"client", "192.0.2.1:40001"},
                    {"server", "192.0.2.2:5061"},
                    {"sni", "sip.example.com"},
                    {"protocol", "sips"},
                    {"state", "established"},
                    {"verdict", "intercept"},
                    {"reason", ""},
                    {"bytes_from_client", 70000},
                    {"bytes_from_server", 1200},
                    {"start", iso(now - 130)},
                    {"last_activity", iso(now - 1)},
                    {"inspector",
                     {{"brief", "alice@example.com INVITE dialogs=1 registered"},
                      {"detail", {{"user", "alice@example.com"}, {"dialogs_open", 1}}}}}}};
  answer("sessions.list", {{"sessions", sessions}});
  auto all = cli("sessions");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto ls = lines(all.out);
  ASSERT_EQ(ls.size(), 4u) << all.out;
  // Sorted by id, protocol in upper case as the logs name it.
  EXPECT_EQ(ls[1].rfind(" 1  HTTPS", 0), 0u) << all.out;
  EXPECT_EQ(ls[2].rfind(" 2  SIPS", 0), 0u) << all.out;
  EXPECT_EQ(ls[3].rfind(" 3  MS-TURN", 0), 0u) << all.out;
  expect_cell(all.out, "CLIENT", "HTTPS", "[2001:db8::1]:40000", false);
  expect_cell(all.out, "SERVER", "MS-TURN", "192.0.2.2:443", false);
  expect_cell(all.out, "SNI", "SIPS", "sip.example.com", false);
  expect_cell(all.out, "UP", "SIPS", "68 KiB", false);
  expect_cell(all.out, "DOWN", "MS-TURN", "5.0 MiB", false);
  expect_cell(all.out, "AGE", "MS-TURN", "1h01m", false);
  expect_cell(all.out, "INFO", "SIPS", "alice@example.com INVITE dialogs=1 registered", false);
  EXPECT_TRUE(last_args("sessions.list").empty());

  auto sips = cli("sessions --protocol sips");
  ASSERT_EQ(sips.exit_code, 0);
  EXPECT_EQ(last_args("sessions.list"), json({{"protocol", "sips"}}));
  EXPECT_EQ(lines(sips.out).size(), 2u) << sips.out;
  EXPECT_NE(sips.out.find("alice@example.com"), std::string::npos);

  // Upper case accepted, sent lower case; JSON keeps the full detail.
  auto turn = cli("sessions -p MS-TURN --json");
  ASSERT_EQ(turn.exit_code, 0) << turn.err;
  EXPECT_EQ(last_args("sessions.list"), json({{"protocol", "ms-turn"}}));
  auto j = json::parse(turn.out);
  ASSERT_EQ(j["sessions"].size(), 1u);
  EXPECT_EQ(j["sessions"][0], sessions[0]);

  auto none = cli("sessions --protocol turn");
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "no active sessions with protocol turn\n");
}

TEST_F(CliRoundTrip, Policy) {
  json rules = {{"rules",
                 {{{"id", 1},
                   {"sni", "*.bank.example"},
                   {"action", "tunnel"},
                   {"hits", 5},
                   {"source", "config"}},
                  {{"id", 12},
                   {"dst", "198.51.100.0/24:8443"},
                   {"action", "allow-undetected"},
                   {"hits", 0},
                   {"source", "cli"}}}}};
  answer("policy.list", rules);
  auto l = cli("policy list");
  ASSERT_EQ(l.exit_code, 0);
  expect_cell(l.out, "MATCH", "bank", "sni *.bank.example", false);
  expect_cell(l.out, "MATCH", "198.51", "dst 198.51.100.0/24:8443", false);
  expect_cell(l.out, "ID", "198.51", "12", true);
  expect_cell(l.out, "ACTION", "198.51", "allow-undetected", false);
  expect_cell(l.out, "HITS", "bank", "5", true);
  EXPECT_EQ(json::parse(cli("policy list --json").out), rules);

  answer("policy.add", {{"rule", {{"id", 13}, {"sni", "*.example.com"}, {"action", "deny"}}}});
  auto a = cli("policy add --sni '*.example.com' --action deny");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(last_args("policy.add"), json({{"sni", "*.example.com"}, {"action", "deny"}}));
  EXPECT_NE(a.out.find("added rule 13"), std::string::npos) << a.out;
  EXPECT_EQ(cli("policy add --dst '[2001:DB8::/32]:5061' --action tunnel").exit_code, 0);
  EXPECT_EQ(last_args("policy.add"), json({{"dst", "[2001:db8::/32]:5061"}, {"action", "tunnel"}}));
  EXPECT_EQ(cli("policy add --dst 192.0.2.7 --action intercept").exit_code, 0);
  EXPECT_EQ(last_args("policy.add"), json({{"dst", "192.0.2.7/32"}, {"action", "intercept"}}));

  answer("policy.del", {{"deleted", 12}});
  auto d = cli("policy del 12");
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(last_args("policy.del"), json({{"id", 12}}));
  EXPECT_EQ(d.out, "deleted rule 12\n");
}

TEST_F(CliRoundTrip, Tunnels) {
  const std::int64_t now = std::time(nullptr);
  json tunnels = {{"tunnels",
                   {{{"sni", "pinned.example"},
                     {"destination", "192.0.2.2:443"},
                     {"reason", "client_rejected_certificate"},
                     {"detail", "alert unknown_ca"},
                     {"hits", 2},
                     {"learned", "2026-11-21T00:00:00Z"},
                     {"expires", now + 630}}}}};
  answer("tunnels.list", tunnels);
  auto l = cli("tunnels list");
  ASSERT_EQ(l.exit_code, 0);
  expect_cell(l.out, "DESTINATION", "pinned", "192.0.2.2:443", false);
  expect_cell(l.out, "REASON", "pinned", "client_rejected_certificate", false);
  expect_cell(l.out, "DETAIL", "pinned", "alert unknown_ca", false);
  expect_cell(l.out, "LEARNED", "pinned", "2026-11-21 00:00:00 UTC", false);
  expect_cell(l.out, "EXPIRES IN", "pinned", "10m", false);
  EXPECT_EQ(json::parse(cli("tunnels list --json").out), tunnels);
  answer("tunnels.list", {{"tunnels", json::array()}});
  EXPECT_EQ(cli("tunnels list").out, "no learned tunnels\n");
  answer("tunnels.flush", {{"flushed", 4}});
  EXPECT_EQ(cli("tunnels flush").out, "flushed 4 learned tunnels\n");
  EXPECT_EQ(requests("tunnels.flush"), 1u);
}

TEST_F(CliRoundTrip, Certificates) {
  json issuer = {{"role", "trusted"},
                 {"issuer_id", "0123456789abcdef"},
                 {"subject", "CN=wirebump issuer,O=wirebump"},
                 {"sha256", "AB:CD:EF"},
                 {"not_before", 1763683200},
                 {"not_after", 2079216000},
                 {"key_type", "EC P-256"},
                 {"cert_path", "/var/lib/wirebump/issuer.crt"},
                 {"der_url", "http://192.0.2.254/wirebump/ca/0123456789abcdef.crt"},
                 {"pem_url", "http://192.0.2.254/wirebump/ca/0123456789abcdef.pem"}};
  answer("ca.show", {{"issuers", {issuer}}});
  auto show = cli("ca show");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("trusted issuer 0123456789abcdef\n"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("  subject   CN=wirebump issuer,O=wirebump\n"), std::string::npos);
  EXPECT_NE(show.out.find("  valid     2025-11-21 00:00:00 UTC .. 2035-11-21 00:00:00 UTC\n"),
            std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("  download  http://192.0.2.254/wirebump/ca/0123456789abcdef.crt (DER)"),
            std::string::npos);
  EXPECT_EQ(json::parse(cli("ca show --json").out)["issuers"][0], issuer);

  TempDir files;
  std::ofstream(files.path() / "ca.pem")
      << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  std::ofstream(files.path() / "ca.key")
      << "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n";
  // Relative paths from the files' directory: the CLI must make them absolute.
  auto import_cli = [&](const std::string& extra) {
    return test::run("cd " + files.path().string() + " && " + test::wirebump_binary() +
                     " --socket " + socket() + " ca import --cert ca.pem --key ca.key" + extra);
  };
  answer("ca.import", {{"issuer", issuer}});
  auto import = import_cli("");
  ASSERT_EQ(import.exit_code, 0) << import.err;
  // Absolute paths, never the key itself.
  EXPECT_EQ(last_args("ca.import"), json({{"cert", (files.path() / "ca.pem").string()},
                                          {"key", (files.path() / "ca.key").string()}}));
  EXPECT_NE(import.out.find("imported\ntrusted issuer"), std::string::npos) << import.out;
  EXPECT_EQ(import.out.find("restart"), std::string::npos) << import.out;
  // The agent only stores the new issuer; it forges with it from its next start: the human
  // output says so (the agent's note, or a default when an agent sends none).
  const std::string note = "imported into /var/lib/wirebump; restart the agent (wirebump run)";
  answer("ca.import", {{"issuer", issuer}, {"restart_required", true}, {"note", note}});
  auto restart = import_cli("");
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_NE(restart.out.find("\nrestart required: " + note + "\n"), std::string::npos)
      << restart.out;
  answer("ca.import", {{"issuer", issuer}, {"restart_required", true}});
  auto bare = import_cli(" --json");
  EXPECT_EQ(json::parse(bare.out, nullptr, false).value("restart_required", false), true)
      << bare.out;
  bare = import_cli("");
  EXPECT_NE(bare.out.find("\nrestart required: restart the agent to forge with the new issuer\n"),
            std::string::npos)
      << bare.out;

  answer("cert.revoke",
         {{"serial", "3A1F09"}, {"issuer_id", "0123456789abcdef"}, {"crl_number", 7}});
  auto revoke = cli("cert revoke serial=3a:1f:09");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_EQ(last_args("cert.revoke"), json({{"serial", "3A1F09"}}));
  EXPECT_EQ(revoke.out, "revoked 3A1F09 (CRL number 7)\n");

  json crls = {{"crls",
                {{{"role", "trusted"},
                  {"issuer_id", "0123456789abcdef"},
                  {"crl_number", 8},
                  {"this_update", "2026-11-21T00:00:00Z"},
                  {"next_update", "2026-12-21T00:00:00Z"},
                  {"url", "http://192.0.2.254/wirebump/crl/0123456789abcdef.crl"}},
                 {{"role", "untrusted"},
                  {"issuer_id", "fedcba9876543210"},
                  {"crl_number", 42},
                  {"this_update", 1795219200},
                  {"next_update", 1797811200},
                  {"url", "http://192.0.2.254/wirebump/crl/fedcba9876543210.crl"}}}}};
  answer("crl.regenerate", crls);
  auto crl = cli("crl regenerate");
  ASSERT_EQ(crl.exit_code, 0) << crl.err;
  expect_cell(crl.out, "NUMBER", "untrusted", "42", true);
  expect_cell(crl.out, "THIS UPDATE", "0123456789abcdef", "2026-11-21 00:00:00 UTC", false);
  expect_cell(crl.out, "NEXT UPDATE", "fedcba9876543210", "2026-12-21 00:00:00 UTC", false);
  expect_cell(crl.out, "URL", "untrusted", "http://192.0.2.254/wirebump/crl/fedcba9876543210.crl",
              false);
  EXPECT_EQ(json::parse(cli("crl regenerate --json").out), crls);
}

TEST_F(CliRoundTrip, AgentErrorsMapToExitCodes) {
  fail("ports.add", control::invalid_argument("port 8443 is already a candidate port"));
  auto dup = cli("ports add 8443");
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_EQ(dup.err, "wirebump ports add: port 8443 is already a candidate port\n");
  fail("policy.del", control::not_found("no policy rule with id 9"));
  auto nf = cli("policy del 9");
  EXPECT_EQ(nf.exit_code, 1);
  EXPECT_EQ(nf.err, "wirebump policy del: no policy rule with id 9\n");
  fail("crl.regenerate", make_error(std::errc::io_error, "write CRL: disk full"));
  EXPECT_EQ(cli("crl regenerate").exit_code, 1);
  // No handler registered in this agent for tunnels.flush.
  auto unknown = cli("tunnels flush");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(
      unknown.err.find("wirebump tunnels flush: the running agent does not support this command"),
      std::string::npos)
      << unknown.err;
  EXPECT_TRUE(unknown.out.empty());
}

TEST_F(CliRoundTrip, SlowAgentTimesOut) {
  server_->handle("status", [](const json&) -> Result<json> {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return json::object();
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = cli("--timeout 0.3 status");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1400));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("wirebump status: the agent did not answer within 0.3 s"), std::string::npos)
      << r.err;
}

TEST_F(CliRoundTrip, SocketFoundThroughConfig) {
  answer("ports.list", {{"ports", {443}}});
  TempDir cfg_dir;
  auto cfg = cfg_dir.path() / "wirebump.toml";
  std::ofstream(cfg) << "run_dir = \"" << (dir_.path() / "run").string() << "\"\n";
  auto before = test::run(test::wirebump_binary() + " -c " + cfg.string() + " ports list");
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out, "PORT\n 443\n");
  auto after = test::run(test::wirebump_binary() + " ports list -c " + cfg.string());
  EXPECT_EQ(after.exit_code, 0) << after.err;
  // --socket wins over the config.
  auto other = test::run(test::wirebump_binary() + " -c " + cfg.string() +
                         " --socket /nonexistent-wb/control.sock ports list");
  EXPECT_EQ(other.exit_code, 3);
}

}  // namespace
}  // namespace wb::cli_test
