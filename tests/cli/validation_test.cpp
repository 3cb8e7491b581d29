// Arguments are validated before the agent is contacted: every bad argument exits 2 with a clear
// message even though the socket given does not exist (reaching it would exit 3), and every
// valid command without an agent exits 3 with the "no agent" sentence.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/cli/cli_fixture.h"

namespace wb::cli_test {
namespace {

const std::string kNoSocket = "/nonexistent-wb-dir/control.sock";

test::CommandResult cli_without_agent(const std::string& args) {
  return test::run(test::wirebump_binary() + " --socket " + kNoSocket + " " + args,
                   std::chrono::seconds(20));
}

struct BadArgs {
  const char* args;
  const char* message;  // fragment of stderr
};

class CliValidation : public ::testing::TestWithParam<BadArgs> {};

TEST_P(CliValidation, ExitsTwoBeforeContactingTheAgent) {
  auto r = cli_without_agent(GetParam().args);
  EXPECT_EQ(r.exit_code, 2) << GetParam().args << "\n" << r.out << r.err;
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos)
      << GetParam().args << " -> stderr: " << r.err;
  EXPECT_EQ(r.err.find("no agent"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    EveryCommand, CliValidation,
    ::testing::Values(
        BadArgs{"ports add 0", "wirebump ports add: '0' is not a port (expected 1..65535)"},
        BadArgs{"ports add 65536", "'65536' is not a port"},
        BadArgs{"ports del https", "wirebump ports del: 'https' is not a port"},
        BadArgs{"ports add", "port is required"}, BadArgs{"ports", "A subcommand is required"},
        BadArgs{"ports list extra", "extra"},
        BadArgs{"bypass add 10.0.0.1/8",
                "wirebump bypass add: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"},
        BadArgs{"bypass del --src not-a-cidr", "not an IPv4 or IPv6 address"},
        BadArgs{"bypass add --dst 2001:db8::/129", "prefix length must be 0..128"},
        BadArgs{"bypass add --src --dst 10.0.0.0/8", "excludes"},
        BadArgs{"bypass add", "cidr is required"},
        BadArgs{"sessions --protocol quic",
                "wirebump sessions: unknown protocol 'quic' (expected https, http, sips, sip, "
                "ms-turn, turn, tunnel or unknown)"},
        BadArgs{"policy add --sni a.example --action block",
                "--action 'block' is not a policy action"},
        BadArgs{"policy add --action deny",
                "give exactly one of --sni PATTERN or --dst CIDR[:PORT]"},
        BadArgs{"policy add --sni a.example --dst 10.0.0.0/8 --action deny", "excludes"},
        BadArgs{"policy add --sni '*.*.example' --action deny", "only one leading '*.' wildcard"},
        BadArgs{"policy add --sni 'bad name' --action deny", "is not a server name"},
        BadArgs{"policy add --dst 10.0.0.0/8:99999 --action deny", "'99999' is not a port"},
        BadArgs{"policy add --dst '[2001:db8::/32' --action tunnel", "missing ']'"},
        BadArgs{"policy add --sni a.example", "--action is required"},
        BadArgs{"policy del abc", "wirebump policy del: 'abc' is not a rule ID"},
        BadArgs{"policy del 0", "is not a rule ID"},
        BadArgs{"detect on quic",
                "wirebump detect: unknown protocol 'quic' (expected https, sips, sip or ms-turn)"},
        BadArgs{"detect maybe sips", "wirebump detect: expected 'on' or 'off', got 'maybe'"},
        BadArgs{"detect on", "protocol is required"},
        BadArgs{"intercept maybe", "wirebump intercept: expected 'on' or 'off', got 'maybe'"},
        BadArgs{"intercept", "state is required"},
        BadArgs{"quic drop", "wirebump quic: expected 'block' or 'allow', got 'drop'"},
        BadArgs{"cert revoke XYZ", "wirebump cert revoke: 'XYZ' is not a certificate serial"},
        BadArgs{"cert revoke 00112233445566778899AABBCCDDEEFF0011223344",
                "not a certificate serial"},
        BadArgs{"ca import --cert /nonexistent.pem --key /nonexistent.key",
                "wirebump ca import: --cert '/nonexistent.pem': No such file or directory"},
        BadArgs{"ca import --cert /etc/hostname --key /etc/hostname", "is not PEM"},
        BadArgs{"ca import --cert /etc --key /etc", "is not a regular file"},
        BadArgs{"ca import --key /etc/hostname", "--cert is required"},
        BadArgs{"tunnels", "A subcommand is required"},
        BadArgs{"tunnels drop", "A subcommand is required"},
        BadArgs{"crl", "A subcommand is required"},
        BadArgs{"status --no-such-flag", "no-such-flag"},
        BadArgs{"--timeout 0 status", "--timeout"}));

TEST(CliNoAgent, EveryCommandExitsThree) {
  // ca import needs files that pass local validation.
  TempDir dir;
  const auto cert = dir.path() / "ca.pem";
  const auto key = dir.path() / "ca.key";
  std::ofstream(cert) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  std::ofstream(key) << "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
  for (std::string args : {"status",
                           "status --json",
                           "intercept on",
                           "intercept off",
                           "quic block",
                           "quic allow",
                           "detect off sips",
                           "detect on ms-turn",
                           "ports list",
                           "ports add 8443",
                           "ports del 443",
                           "bypass list",
                           "bypass list --src",
                           "bypass add 192.0.2.0/24",
                           "bypass del --src 2001:db8::/32",
                           "sessions",
                           "sessions --protocol MS-TURN --json",
                           "policy list",
                           "policy add --sni '*.example.com' --action tunnel",
                           "policy add --dst '[2001:db8::/32]:5061' --action allow-undetected",
                           "policy del 3",
                           "tunnels list",
                           "tunnels flush",
                           "ca show",
                           "cert revoke serial=3A:1F",
                           "crl regenerate"}) {
    auto r = cli_without_agent(args);
    EXPECT_EQ(r.exit_code, 3) << args << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find("wirebump: no agent is running (no control socket at " + kNoSocket + ")"),
              std::string::npos)
        << args << " -> " << r.err;
  }
  auto import = cli_without_agent("ca import --cert " + cert.string() + " --key " + key.string());
  EXPECT_EQ(import.exit_code, 3) << import.err;
}

TEST(CliNoAgent, DefaultSocketIsNamed) {
  // Without --socket or -c, the default path is the one tried and named. The CLI runs in a private
  // mount namespace with an empty /run, so an agent running on this machine is never reached.
  auto r = test::run(
      "unshare --mount --propagation private sh -c 'mount -t tmpfs none /run && "
      "exec " +
          test::wirebump_binary() + " status'",
      std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("wirebump: no agent is running (no control socket at "
                       "/run/wirebump/control.sock)"),
            std::string::npos)
      << r.err;
}

TEST(CliHelp, EverySubcommandHasHelp) {
  for (std::string args :
       {"status",     "intercept",      "quic",      "detect",       "ports",
        "ports list", "ports add",      "ports del", "bypass",       "bypass list",
        "bypass add", "bypass del",     "sessions",  "policy",       "policy list",
        "policy add", "policy del",     "tunnels",   "tunnels list", "tunnels flush",
        "ca",         "ca show",        "ca import", "cert",         "cert revoke",
        "crl",        "crl regenerate", "config",    "config check", "config show"}) {
    auto r = test::run(test::wirebump_binary() + " " + args + " --help", std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 0) << args << r.err;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << args << r.out;
  }
  auto sessions = test::run(test::wirebump_binary() + " sessions --help");
  EXPECT_NE(sessions.out.find("ms-turn"), std::string::npos);
  EXPECT_NE(sessions.out.find("--json"), std::string::npos);
  auto top = test::run(test::wirebump_binary() + " --help");
  EXPECT_NE(top.out.find("--socket"), std::string::npos);
  EXPECT_NE(top.out.find("-c,--config"), std::string::npos);
}

TEST(CliConfig, CheckReportsKeyAndLine) {
  TempDir dir;
  const auto good = dir.path() / "good.toml";
  const auto bad = dir.path() / "bad.toml";
  std::ofstream(good) << "bridge = \"br7\"\nrun_dir = \"/run/wb-test\"\n";
  std::ofstream(bad) << "bridge = \"br7\"\n\nports = \"eth1\"\n";
  auto ok = test::run(test::wirebump_binary() + " config check -c " + good.string());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find(good.string() + ": ok (bridge br7"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("control socket /run/wb-test/control.sock"), std::string::npos) << ok.out;
  auto js = test::run(test::wirebump_binary() + " -c " + good.string() + " config check --json");
  EXPECT_EQ(js.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(js.out)["control_socket"], "/run/wb-test/control.sock");
  auto ko = test::run(test::wirebump_binary() + " config check -c " + bad.string());
  EXPECT_EQ(ko.exit_code, 2);
  EXPECT_NE(ko.err.find(bad.string() + ":3:9: ports: expected an array of interface names"),
            std::string::npos)
      << ko.err;
  // A command that needs the socket refuses a bad config the same way, before connecting.
  auto status = test::run(test::wirebump_binary() + " -c " + bad.string() + " status");
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_NE(status.err.find(":3:9: ports:"), std::string::npos) << status.err;
  // And finds the socket in run_dir of a good one.
  auto via_config = test::run(test::wirebump_binary() + " status -c " + good.string());
  EXPECT_EQ(via_config.exit_code, 3);
  EXPECT_NE(via_config.err.find("/run/wb-test/control.sock"), std::string::npos) << via_config.err;
}

// `config show`: the effective configuration, defaults filled in; its TOML is a valid config that
// shows the same again; --json is the same tree; a bad file is refused like `config check`.
TEST(CliConfig, ShowPrintsTheEffectiveConfigurationReadBackTheSame) {
  TempDir dir;
  const auto mine = dir.path() / "mine.toml";
  const auto shown = dir.path() / "shown.toml";
  std::ofstream(mine) << "bridge = \"br7\"\n[certs]\nmax_validity_days = 30\n";
  auto first = test::run(test::wirebump_binary() + " config show -c " + mine.string());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("bridge = 'br7'"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("max_validity_days = 30"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("candidate_ports = [ 443, 5061 ]"), std::string::npos) << first.out;
  std::ofstream(shown) << first.out;
  auto again = test::run(test::wirebump_binary() + " config show -c " + shown.string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, first.out);
  auto js = test::run(test::wirebump_binary() + " -c " + mine.string() + " config show --json");
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const auto tree = nlohmann::json::parse(js.out);
  EXPECT_EQ(tree["certs"]["max_validity_days"], 30);
  EXPECT_EQ(tree["timeouts"]["idle"], 300);
  std::ofstream(dir.path() / "bad.toml") << "[certs]\nmax_validity_days = 900\n";
  auto bad =
      test::run(test::wirebump_binary() + " config show -c " + (dir.path() / "bad.toml").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(":2:21: certs.max_validity_days"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

}  // namespace
}  // namespace wb::cli_test
