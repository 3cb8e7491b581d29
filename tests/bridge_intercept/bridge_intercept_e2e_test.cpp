// Issue 6 through the real bridge: `wirebump run` with interception (policy + InterceptService +
// the daemon's CertService) steering TCP from the client namespace to servers in the server
// namespace. The agent's trust_store is a CA made here that signed the servers' certificates;
// clients trust the wirebump issuer the agent created in its state dir (`ca show`).
//
// One topology and one agent for the whole suite (starting them dominates the run time); every
// test uses its own server address or SNI so what one test teaches the policy (learned tunnels,
// rules) never decides another. Servers (server namespace):
//   192.0.2.2:443   nginx (HTTPS)
//   192.0.2.3:443   openssl s_server -www -Verify 1 (client certificate required)
//   192.0.2.4:443   openssl s_server -rev (a protocol nobody detects; SIP text reversed)
//   192.0.2.4:5061  openssl s_server -rev (SIP over TLS on its own port)
//   192.0.2.5:443   wb_ms_turn_peer server (pseudo-TLS MS-TURN)
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/agent/agent_fixture.h"
#include "tests/intercept/test_pki.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::vector<std::string> kServerNames = {
    "www.example.test",    "sip.example.test",       "sip443.example.test",
    "sipoff.example.test", "sipoff443.example.test", "banner.example.test",
    "bank.example.test",   "pinned.example.test",    "client.example.test"};

struct Env {
  AgentFixture f;
  std::string d;  // scratch dir
  std::string issuer_pem, both_pem, test_ca_pem;
  std::string setup_error;
};
Env* env = nullptr;

std::string setup(Env& e) {
  e.d = e.f.topo().dir();
  Topology& topo = e.f.topo();
  for (const char* ip : {"192.0.2.3", "192.0.2.4", "192.0.2.5"}) {
    auto r = topo.exec(topo.server(), std::string("ip addr add ") + ip + "/24 dev srv0");
    if (r.exit_code != 0) return "add server address " + std::string(ip) + ": " + r.err;
  }
  auto ca = make_ca("Bridge Test Root");
  auto server = make_leaf(ca, "www.example.test", kServerNames,
                          {"192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"});
  auto client = make_leaf(ca, "client.example.test", {"client.example.test"});
  e.test_ca_pem = ca.write(e.d, "test-ca");
  server.write(e.d, "server");
  client.write(e.d, "client");

  // The agent verifies upstreams against the test CA only.
  {
    std::ofstream cfg(e.f.config_path(), std::ios::app);
    cfg << "trust_store = \"" << e.test_ca_pem << "\"\n";
  }

  write_text(e.d + "/nginx.conf",
             "user root;\nworker_processes 1;\npid " + e.d + "/nginx.pid;\nerror_log " + e.d +
                 "/nginx-error.log;\nevents { worker_connections 256; }\n"
                 "http {\n  access_log " +
                 e.d + "/access.log;\n  client_body_temp_path " + e.d + "/nb;\n  proxy_temp_path " +
                 e.d + "/np;\n  fastcgi_temp_path " + e.d + "/nf;\n  uwsgi_temp_path " + e.d +
                 "/nu;\n  scgi_temp_path " + e.d +
                 "/ns;\n  keepalive_timeout 10;\n"
                 "  server {\n    listen 192.0.2.2:443 ssl;\n    ssl_certificate " +
                 e.d + "/server.crt;\n    ssl_certificate_key " + e.d + "/server.key;\n    root " +
                 e.d + "/www;\n  }\n}\n");
  run("mkdir -p " + e.d + "/www && echo 'hello through the bridge' > " + e.d + "/www/hello.txt");
  topo.spawn(topo.server(), "exec nginx -c " + e.d + "/nginx.conf -g 'daemon off;'", "nginx");
  const std::string cert = " -cert " + e.d + "/server.crt -key " + e.d + "/server.key ";
  topo.spawn(
      topo.server(),
      "exec openssl s_server -accept 192.0.2.3:443 -www -Verify 1 -CAfile " + e.test_ca_pem + cert,
      "s_server_verify");
  topo.spawn(topo.server(), "exec openssl s_server -accept 192.0.2.4:443 -rev" + cert, "rev443");
  topo.spawn(topo.server(), "exec openssl s_server -accept 192.0.2.4:5061 -rev" + cert, "rev5061");
  topo.spawn(
      topo.server(),
      "exec " + binary_path("tests/peers/wb_ms_turn_peer") + " server --listen 192.0.2.5:443",
      "ms_turn_server");
  for (const char* listen :
       {"192.0.2.2:443", "192.0.2.3:443", "192.0.2.4:443", "192.0.2.4:5061", "192.0.2.5:443"}) {
    const bool up = eventually(
        [&] {
          return topo.exec(topo.server(), std::string("ss -Hltn | grep -q ' ") + listen + " '")
                     .exit_code == 0;
        },
        10s);
    if (!up) return std::string("server on ") + listen + " did not start";
  }

  if (auto err = e.f.start_agent(); !err.empty()) return err;
  auto ca_show = e.f.cli("ca show --json");
  if (ca_show.exit_code != 0) return "ca show: " + ca_show.err;
  auto issuers = json::parse(ca_show.out, nullptr, false);
  if (!issuers.is_object()) return "ca show: not JSON: " + ca_show.out;
  e.issuer_pem = issuers["issuers"][0].value("cert_path", "");
  if (e.issuer_pem.empty()) return "ca show: no trusted issuer path: " + ca_show.out;
  e.both_pem = e.d + "/both.pem";
  run("cat " + e.issuer_pem + " " + e.test_ca_pem + " > " + e.both_pem);
  return "";
}

class BridgeIntercept : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env();
    env->setup_error = setup(*env);
  }
  static void TearDownTestSuite() {
    delete env;
    env = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(env->setup_error.empty()) << env->setup_error; }

  AgentFixture& f() { return env->f; }
  const std::string& d() { return env->d; }

  CommandResult curl(const std::string& host, const std::string& ip, const std::string& args) {
    return f().client("curl -sS --max-time 10 -w '\\nHTTP %{http_code}' --resolve " + host +
                          ":443:" + ip + " " + args + " https://" + host + "/hello.txt",
                      20s);
  }
  // openssl s_client from the client: sends `input` (printf format), stays `linger` s.
  CommandResult s_client(const std::string& target, const std::string& sni,
                         const std::string& input, int linger, const std::string& args) {
    return f().client("(printf '" + input + "'; sleep " + std::to_string(linger) +
                          ") | timeout 20 openssl s_client -quiet -no_ign_eof -nocommands "
                          "-connect " +
                          target + " -servername " + sni + " " + args + " 2>&1",
                      30s);
  }
  json cli_json(const std::string& args) {
    auto r = f().cli(args + " --json");
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err << r.out;
    return json::parse(r.out, nullptr, false);
  }
  json interception() { return f().status().value("interception", json::object()); }
  std::uint64_t counter(const std::string& name) {
    return interception().value(name, std::uint64_t{0});
  }
  std::uint64_t policy_counter(const std::string& name) {
    return interception().value("policy", json::object()).value(name, std::uint64_t{0});
  }
  // The learned tunnel for `sni`, null when none.
  json learned(const std::string& sni) {
    auto list = cli_json("tunnels list");
    for (const auto& t : list.value("tunnels", json::array())) {
      if (t.value("sni", "") == sni) return t;
    }
    return nullptr;
  }
  // Polls `wirebump sessions --json` until a session to `sni` with `protocol` is live.
  // A live session to `sni` with `protocol` whose record mentions `showing` ("": anything). The
  // inspector's state reaches the table 250 ms after it starts, or when the session turns quiet.
  json live_session(const std::string& sni, const std::string& protocol,
                    const std::string& showing = "") {
    json hit;
    eventually(
        [&] {
          auto r = f().cli("sessions --json");
          auto j = json::parse(r.out, nullptr, false);
          if (!j.is_object()) return false;
          for (const auto& s : j.value("sessions", json::array())) {
            if (s.value("sni", "") == sni && s.value("protocol", "") == protocol &&
                contains(s.dump(), showing)) {
              hit = s;
              return true;
            }
          }
          return false;
        },
        10s);
    return hit;
  }
  std::string agent_log() { return f().agent() ? f().agent()->log() : ""; }
  // The end-of-session log lines of sessions to `sni` (waits up to 10 s for `count` of them).
  std::vector<std::string> end_lines(const std::string& sni, std::size_t count = 1) {
    std::vector<std::string> lines;
    eventually(
        [&] {
          lines.clear();
          std::istringstream log(agent_log());
          for (std::string line; std::getline(log, line);) {
            if (contains(line, " end: ") && contains(line, " sni=" + sni + " ")) {
              lines.push_back(line);
            }
          }
          return lines.size() >= count;
        },
        10s);
    return lines;
  }
};

TEST_F(BridgeIntercept, HttpsToNginxIsInterceptedWithTheIssuersChain) {
  const auto before = counter("intercepted");
  auto r = curl("www.example.test", "192.0.2.2", "--cacert " + env->issuer_pem);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out << agent_log();
  EXPECT_TRUE(contains(r.out, "hello through the bridge")) << r.out;
  EXPECT_TRUE(contains(r.out, "HTTP 200")) << r.out;
  EXPECT_GT(counter("intercepted"), before);
  // The default: the server certificate's key went the built-in way (openssl_builtin_key_methods).
  EXPECT_TRUE(interception().value("builtin_key_methods", false)) << interception().dump();
  // The forging key pool finishes in the background: 4 EC and 2 RSA keys (CertConfig defaults).
  json pool;
  EXPECT_TRUE(eventually(
      [&] {
        pool = f().status().value("certs", json::object()).value("key_pool", json::object());
        return pool.value("done", false);
      },
      60s))
      << pool.dump();
  EXPECT_EQ(pool.value("ec", 0), 4);
  EXPECT_EQ(pool.value("ec_wanted", 0), 4);
  EXPECT_EQ(pool.value("rsa", 0), 2);
  EXPECT_EQ(pool.value("rsa_wanted", 0), 2);

  // The chain the client gets: the forged leaf, issued by the wirebump issuer, with the server's
  // names and the bridge's CRL DP / OCSP AIA (crl_host defaulted to br0's 192.0.2.254).
  auto chain = f().client(
      "(printf 'GET /hello.txt HTTP/1.1\\r\\nHost: www.example.test\\r\\nConnection: "
      "close\\r\\n\\r\\n'; sleep 1) | timeout 15 openssl s_client -connect 192.0.2.2:443 "
      "-servername www.example.test -CAfile " +
          env->issuer_pem +
          " -verify_return_error 2>/dev/null | openssl x509 -noout -text -issuer -nameopt RFC2253",
      30s);
  ASSERT_EQ(chain.exit_code, 0) << chain.err << chain.out;
  auto issuer_subject =
      f().client("openssl x509 -noout -subject -nameopt RFC2253 -in " + env->issuer_pem);
  ASSERT_EQ(issuer_subject.exit_code, 0);
  EXPECT_TRUE(contains(chain.out, "DNS:www.example.test")) << chain.out;
  EXPECT_TRUE(contains(chain.out, "DNS:sip.example.test")) << chain.out;
  EXPECT_TRUE(contains(chain.out, "URI:http://192.0.2.254/wirebump/crl/")) << chain.out;
  EXPECT_TRUE(contains(chain.out, "OCSP - URI:http://192.0.2.254/wirebump/ocsp")) << chain.out;
  // The leaf's issuer is the wirebump issuer ("subject=X" of the issuer, "issuer=X" of the leaf).
  std::string subject = issuer_subject.out.substr(issuer_subject.out.find('=') + 1);
  subject.erase(subject.find_last_not_of("\n") + 1);
  EXPECT_TRUE(contains(subject, "wirebump")) << subject;
  EXPECT_TRUE(contains(chain.out, "issuer=" + subject)) << chain.out;

  // While a request is in flight the session shows protocol https.
  auto& slow = f().topo().spawn(
      f().topo().client(),
      "(printf 'GET /hello.txt HTTP/1.1\\r\\nHost: www.example.test\\r\\n\\r\\n'; sleep 4) | "
      "openssl s_client -quiet -connect 192.0.2.2:443 -servername www.example.test -CAfile " +
          env->issuer_pem,
      "slow_https");
  auto session = live_session("www.example.test", "https");
  ASSERT_FALSE(session.is_null()) << f().cli("sessions --json").out << agent_log();
  EXPECT_EQ(session.value("server", ""), "192.0.2.2:443");
  EXPECT_EQ(session.value("verdict", ""), "intercept") << session.dump();
  auto text = f().cli("sessions --protocol https");
  EXPECT_TRUE(contains(text.out, "www.example.test")) << text.out;
  slow.stop(5s);
}

TEST_F(BridgeIntercept, ClientCertificateServerWorksTunnelledWithReason) {
  const auto before = counter("tunnelled_on_error");
  auto r = curl("client.example.test", "192.0.2.3",
                "--cacert " + env->test_ca_pem + " --cert " + d() + "/client.crt --key " + d() +
                    "/client.key");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out << agent_log();
  EXPECT_TRUE(contains(r.out, "HTTP 200")) << r.out;
  EXPECT_EQ(counter("tunnelled_on_error"), before + 1);
  auto t = learned("client.example.test");
  ASSERT_FALSE(t.is_null()) << f().cli("tunnels list").out;
  EXPECT_EQ(t.value("reason", ""), "client_certificate_requested") << t.dump();
  EXPECT_EQ(t.value("destination", ""), "192.0.2.3:443");
  EXPECT_TRUE(contains(agent_log(), "client certificate requested")) << agent_log();
  // The session's end line says why it was tunnelled, then how it ended.
  auto ends = end_lines("client.example.test");
  ASSERT_EQ(ends.size(), 1u) << agent_log();
  EXPECT_TRUE(contains(ends[0], "TUNNEL")) << ends[0];
  EXPECT_TRUE(contains(ends[0], "verdict=tunnel")) << ends[0];
  EXPECT_TRUE(contains(ends[0], "reason=\"tunnel on error: client certificate requested; "))
      << ends[0];
  auto text = f().cli("tunnels list");
  EXPECT_TRUE(contains(text.out, "client.example.test")) << text.out;
}

TEST_F(BridgeIntercept, PinningClientFailsOnceThenSucceedsTunnelled) {
  auto pin = run("openssl pkey -in " + d() +
                     "/server.key -pubout -outform DER | openssl dgst -sha256 -binary | base64",
                 10s);
  ASSERT_EQ(pin.exit_code, 0);
  std::string hash = pin.out.substr(0, pin.out.find_last_not_of("\n") + 1);
  const std::string args = "--cacert " + env->both_pem + " --pinnedpubkey sha256//" + hash;
  // A TLS health check first: handshake, close_notify, no data, but no ALPN: not pinning.
  const auto silent_before = counter("closed_without_data");
  auto check = f().client(
      "timeout 10 openssl s_client -connect 192.0.2.2:443 -servername "
      "pinned.example.test </dev/null 2>&1",
      20s);
  EXPECT_TRUE(contains(check.out, "CONNECTED")) << check.out;
  ASSERT_TRUE(eventually([&] { return counter("closed_without_data") == silent_before + 1; }, 10s))
      << agent_log();
  EXPECT_TRUE(learned("pinned.example.test").is_null()) << f().cli("tunnels list").out;
  auto first = curl("pinned.example.test", "192.0.2.2", args);
  EXPECT_NE(first.exit_code, 0) << first.out;
  ASSERT_TRUE(eventually([&] { return !learned("pinned.example.test").is_null(); }, 10s))
      << f().cli("tunnels list").out << agent_log();
  EXPECT_EQ(learned("pinned.example.test").value("reason", ""), "client_closed_after_handshake");
  const auto tunnelled_learned = policy_counter("tunnelled_learned");
  auto second = curl("pinned.example.test", "192.0.2.2", args);
  ASSERT_EQ(second.exit_code, 0) << second.err << agent_log();
  EXPECT_TRUE(contains(second.out, "HTTP 200")) << second.out;
  EXPECT_EQ(policy_counter("tunnelled_learned"), tunnelled_learned + 1);
  // First attempt: intercepted and rejected; second: tunnelled, saying it was learned.
  auto ends = end_lines("pinned.example.test", 3);
  ASSERT_EQ(ends.size(), 3u) << agent_log();
  EXPECT_TRUE(contains(ends[0], "not learned: no ALPN offered")) << ends[0];
  EXPECT_TRUE(contains(ends[1], "reason=\"client rejected interception: ")) << ends[1];
  EXPECT_TRUE(contains(ends[1], "(pinning)")) << ends[1];
  EXPECT_TRUE(contains(ends[2], "verdict=tunnel")) << ends[2];
  EXPECT_TRUE(contains(ends[2], "reason=\"learned: client_closed_after_handshake (")) << ends[2];
}

TEST_F(BridgeIntercept, UndetectedProtocolDeniedThenAllowedByDestinationRule) {
  const auto denied_before = policy_counter("undetected_denied");
  auto denied = s_client("192.0.2.4:443", "banner.example.test", "CUSTOM-PROTO hello\\n", 2,
                         "-CAfile " + env->issuer_pem);
  EXPECT_FALSE(contains(denied.out, "olleh OTORP-MOTSUC")) << denied.out;
  EXPECT_EQ(policy_counter("undetected_denied"), denied_before + 1) << agent_log();
  EXPECT_TRUE(contains(agent_log(), "undetected protocol inside TLS")) << agent_log();

  auto add = f().cli("policy add --dst 192.0.2.4/32:443 --action allow-undetected --json");
  ASSERT_EQ(add.exit_code, 0) << add.err << add.out;
  const int id = json::parse(add.out, nullptr, false)["rule"].value("id", -1);
  ASSERT_GT(id, 0) << add.out;
  const auto allowed_before = policy_counter("undetected_allowed");
  auto allowed = s_client("192.0.2.4:443", "banner.example.test", "CUSTOM-PROTO hello\\n", 2,
                          "-CAfile " + env->issuer_pem);
  EXPECT_TRUE(contains(allowed.out, "olleh OTORP-MOTSUC")) << allowed.out << agent_log();
  EXPECT_EQ(policy_counter("undetected_allowed"), allowed_before + 1);
  EXPECT_EQ(f().cli("policy del " + std::to_string(id)).exit_code, 0);
}

TEST_F(BridgeIntercept, SipOverTlsDetectedAsSipsOn5061And443) {
  for (const auto& [target, sni] :
       {std::pair<std::string, std::string>{"192.0.2.4:5061", "sip.example.test"},
        {"192.0.2.4:443", "sip443.example.test"}}) {
    auto& client = f().topo().spawn(
        f().topo().client(),
        "(printf 'REGISTER sip:example.test SIP/2.0\\r\\nVia: SIP/2.0/TLS "
        "192.0.2.1:5061\\r\\nContent-Length: 0\\r\\n\\r\\n'; sleep 4) | openssl s_client -quiet "
        "-connect " +
            target + " -servername " + sni + " -CAfile " + env->issuer_pem,
        "sips_" + sni);
    auto session = live_session(sni, "sips", "REGISTER");
    ASSERT_FALSE(session.is_null())
        << target << " " << f().cli("sessions --json").out << agent_log();
    EXPECT_EQ(session.value("verdict", ""), "intercept") << session.dump();
    EXPECT_EQ(session.value("server", ""), target);
    EXPECT_TRUE(contains(session.dump(), "REGISTER")) << session.dump();
    client.stop(8s);
  }
}

TEST_F(BridgeIntercept, PseudoTlsMsTurnOn443IsRelayedAsMsTurn) {
  const auto intercepted = counter("intercepted");
  auto& client = f().topo().spawn(f().topo().client(),
                                  "exec " + binary_path("tests/peers/wb_ms_turn_peer") +
                                      " client --connect 192.0.2.5:443 --bytes 20000 "
                                      "--hold-ms 3000 --timeout 15",
                                  "ms_turn_client");
  json hit;
  ASSERT_TRUE(eventually(
      [&] {
        auto j = json::parse(f().cli("sessions --protocol ms-turn --json").out, nullptr, false);
        if (!j.is_object() || j["sessions"].empty()) return false;
        hit = j["sessions"][0];
        return true;
      },
      10s))
      << f().cli("sessions --json").out << agent_log();
  EXPECT_EQ(hit.value("server", ""), "192.0.2.5:443");
  EXPECT_EQ(client.wait(20s), 0) << client.log();
  EXPECT_EQ(counter("intercepted"), intercepted);  // pseudo-TLS is never terminated
}

TEST_F(BridgeIntercept, PolicyBySniTunnels) {
  auto add = f().cli("policy add --sni bank.example.test --action tunnel --json");
  ASSERT_EQ(add.exit_code, 0) << add.err << add.out;
  const int id = json::parse(add.out, nullptr, false)["rule"].value("id", -1);
  const std::string why = "policy tunnel: rule " + std::to_string(id) + " (sni=bank.example.test)";
  const auto tunnelled = counter("tunnelled");
  // Only the real root verifies the real certificate: interception would fail this.
  auto r = curl("bank.example.test", "192.0.2.2", "--cacert " + env->test_ca_pem);
  ASSERT_EQ(r.exit_code, 0) << r.err << agent_log();
  EXPECT_TRUE(contains(r.out, "hello through the bridge")) << r.out;
  EXPECT_EQ(counter("tunnelled"), tunnelled + 1);
  auto ends = end_lines("bank.example.test");
  ASSERT_EQ(ends.size(), 1u) << agent_log();
  EXPECT_TRUE(contains(ends[0], "reason=\"" + why + "; ")) << ends[0];
  // While it lasts, `sessions` shows the same reason.
  auto& live = f().topo().spawn(f().topo().client(),
                                "sleep 4 | openssl s_client -quiet -connect 192.0.2.2:443 "
                                "-servername bank.example.test -CAfile " +
                                    env->test_ca_pem,
                                "bank_live");
  auto session = live_session("bank.example.test", "tunnel");
  ASSERT_FALSE(session.is_null()) << f().cli("sessions --json").out << agent_log();
  EXPECT_EQ(session.value("reason", ""), why) << session.dump();
  EXPECT_EQ(session.value("verdict", ""), "tunnel") << session.dump();
  live.stop(5s);
  auto list = f().cli("policy list");
  EXPECT_TRUE(contains(list.out, "bank.example.test")) << list.out;
  EXPECT_EQ(f().cli("policy del " + std::to_string(id)).exit_code, 0);
}

TEST_F(BridgeIntercept, DetectOffSipsTunnelsSipOverTls) {
  ASSERT_EQ(f().cli("detect off sips").exit_code, 0);
  EXPECT_EQ(f().status()["detect"].value("sips", true), false) << f().status().dump();
  const std::string reg = "REGISTER sip:example.test SIP/2.0\\r\\nContent-Length: 0\\r\\n\\r\\n";
  const std::string real_cert = "-CAfile " + env->test_ca_pem + " -verify_return_error";

  // On 5061 (the SIPS port) the hello alone says sips: tunnelled from the first byte, so the
  // client sees the REAL certificate and the server's answer.
  const auto off_before = policy_counter("tunnelled_detection_off");
  auto on5061 = s_client("192.0.2.4:5061", "sipoff.example.test", reg, 1, real_cert);
  EXPECT_TRUE(contains(on5061.out, "0.2/PIS")) << on5061.out << agent_log();
  EXPECT_EQ(policy_counter("tunnelled_detection_off"), off_before + 1);
  EXPECT_TRUE(eventually(
      [&] { return contains(agent_log(), "TUNNEL sni=sipoff.example.test verdict=tunnel"); }, 5s))
      << agent_log();
  auto ends = end_lines("sipoff.example.test");
  ASSERT_EQ(ends.size(), 1u) << agent_log();
  EXPECT_TRUE(contains(ends[0], "reason=\"detection off: sips (port 5061); ")) << ends[0];

  // On 443 SIP is only seen after decryption: passed through uninspected and the destination
  // learned, so the next connection is tunnelled from the first byte (real certificate).
  auto first =
      s_client("192.0.2.4:443", "sipoff443.example.test", reg, 1, "-CAfile " + env->issuer_pem);
  EXPECT_TRUE(contains(first.out, "0.2/PIS")) << first.out;
  auto t = learned("sipoff443.example.test");
  ASSERT_FALSE(t.is_null()) << f().cli("tunnels list").out << agent_log();
  EXPECT_EQ(t.value("detail", ""), "detection off: sips");
  auto second = s_client("192.0.2.4:443", "sipoff443.example.test", reg, 1, real_cert);
  EXPECT_TRUE(contains(second.out, "0.2/PIS")) << second.out;
  ASSERT_EQ(f().cli("detect on sips").exit_code, 0);
}

TEST_F(BridgeIntercept, CertificateCommandsAndStatus) {
  auto ca = cli_json("ca show");
  ASSERT_EQ(ca["issuers"].size(), 2u) << ca.dump();
  EXPECT_EQ(ca["issuers"][0].value("role", ""), "trusted");
  EXPECT_EQ(ca["issuers"][1].value("role", ""), "untrusted");
  EXPECT_TRUE(contains(ca["issuers"][0].value("der_url", ""), "http://192.0.2.254/wirebump/ca/"));
  auto crls = cli_json("crl regenerate");
  ASSERT_EQ(crls["crls"].size(), 2u) << crls.dump();
  EXPECT_GT(crls["crls"][0].value("next_update", 0), crls["crls"][0].value("this_update", 0));
  auto status = f().status();
  ASSERT_TRUE(status.contains("certs")) << status.dump();
  EXPECT_TRUE(status["certs"].contains("cache"));
  EXPECT_TRUE(status.contains("detect"));
  EXPECT_TRUE(status.contains("interception"));
  // A serial this bridge never issued: not found, clearly.
  auto revoke = f().cli("cert revoke 0BADC0FFEE");
  EXPECT_NE(revoke.exit_code, 0);
  EXPECT_TRUE(contains(revoke.err + revoke.out, "0BADC0FFEE")) << revoke.err << revoke.out;
}

TEST_F(BridgeIntercept, RevokingAForgedCertificateBumpsItsIssuersCrl) {
  // The forged leaf of an intercepted connection, by serial.
  auto serial = f().client(
      "(printf 'GET /hello.txt HTTP/1.1\\r\\nHost: revoke.example.test\\r\\nConnection: "
      "close\\r\\n\\r\\n'; sleep 1) | timeout 15 openssl s_client -connect 192.0.2.2:443 "
      "-servername www.example.test -CAfile " +
          env->issuer_pem + " 2>/dev/null | openssl x509 -noout -serial",
      30s);
  ASSERT_EQ(serial.exit_code, 0) << serial.err;
  std::string hex = serial.out.substr(serial.out.find('=') + 1);
  hex.erase(hex.find_last_not_of("\n") + 1);
  auto ca = cli_json("ca show");
  const auto before = cli_json("crl regenerate")["crls"][0].value("crl_number", 0);
  auto revoked = cli_json("cert revoke " + hex);
  EXPECT_EQ(revoked.value("issuer_id", ""), ca["issuers"][0].value("issuer_id", "?"))
      << revoked.dump();
  EXPECT_GT(revoked.value("crl_number", 0), before) << revoked.dump();
}

// Last: it replaces the trusted issuer's files in the state dir (used from the next start).
TEST_F(BridgeIntercept, CaImportStoresTheOperatorsCaForTheNextStart) {
  auto own = make_ca("Operator Import CA");
  const std::string cert = own.write(d(), "operator-ca");
  auto imported = f().cli("ca import --cert " + cert + " --key " + d() + "/operator-ca.key --json");
  ASSERT_EQ(imported.exit_code, 0) << imported.err << imported.out;
  auto j = json::parse(imported.out, nullptr, false);
  EXPECT_TRUE(contains(j["issuer"].value("subject", ""), "Operator Import CA")) << imported.out;
  EXPECT_TRUE(j.value("restart_required", false)) << imported.out;
  auto human = f().cli("ca import --cert " + cert + " --key " + d() + "/operator-ca.key");
  ASSERT_EQ(human.exit_code, 0) << human.err << human.out;
  EXPECT_TRUE(contains(human.out, "\nrestart required: imported into ")) << human.out;
  // A key that does not match the certificate is refused with a message.
  auto mismatch = f().cli("ca import --cert " + cert + " --key " + d() + "/client.key");
  EXPECT_NE(mismatch.exit_code, 0) << mismatch.out;
  EXPECT_FALSE((mismatch.err + mismatch.out).empty());
}

}  // namespace
}  // namespace wb::test
