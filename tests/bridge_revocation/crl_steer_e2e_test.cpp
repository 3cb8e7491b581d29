// A crl_host that is NOT an address of the bridge (a load-balancer VIP shared by several bridges,
// or a bridge without an IP address), through the real bridge, once per family: crl_host =
// 203.0.113.80 (CrlSteer) and 2001:db8:80::80 (CrlSteerV6), which the server namespace owns (on
// its lo) and the client reaches through the bridge (routed via the server). The agent programs
// wb_crl_addr, the classifier steers SYNs to <address>:80 to the agent's revocation listener
// (steer_crl), and OpenSSL's strict clients and curl get the CRL, the issuer certificate and
// OCSP answers from the agent. Another port of that address reaches the server namespace
// untouched; with the agent stopped, port 80 does too (fail open); `wirebump down` removes the
// map's pin.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <thread>

#include "tests/agent/agent_fixture.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

const std::string kName = "steer.test";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CrlSteer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { set_up("203.0.113.80"); }
  // One agent per suite whose crl_host is `address` (IPv4 here, IPv6 in CrlSteerV6).
  static void set_up(const std::string& address) {
    addr_ = address;
    v6_ = address.find(':') != std::string::npos;
    host_ = v6_ ? "[" + address + "]" : address;
    f_ = std::make_unique<AgentFixture>();
    setup_error_ = f_->topo().ok() ? prepare() : "topology: " + f_->topo().error();
    if (setup_error_.empty()) setup_error_ = f_->start_agent();
    if (setup_error_.empty()) setup_error_ = fetch_issuer();
  }
  static void TearDownTestSuite() { f_.reset(); }
  void SetUp() override { ASSERT_EQ(setup_error_, ""); }

  static std::string dir() { return f_->topo().dir(); }
  static const Topology& topo() { return f_->topo(); }

  // The CRL host address on the server side, a test CA the agent trusts, an upstream TLS server
  // with a certificate from it, and the agent's config naming the CRL host.
  static std::string prepare() {
    const std::string family = v6_ ? " -6 " : " -4 ";
    const std::string prefix = addr_ + (v6_ ? "/128" : "/32");
    auto net = run("ip -n " + topo().server() + family + "addr add " + prefix +
                   " dev lo nodad && ip -n " + topo().client() + family + "route add " + prefix +
                   " via " + (v6_ ? Topology::kServerIp6 : Topology::kServerIp));
    if (net.exit_code != 0) return "routes: " + net.err;
    const std::string p = dir() + "/pki";
    auto pki = run("set -e; mkdir -p " + p + "; cd " + p +
                       "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-days 2 -subj '/CN=crl steer test CA' -keyout ca.key -out ca.pem "
                       "2>/dev/null; openssl req -x509 -CA ca.pem -CAkey ca.key -newkey ec "
                       "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" +
                       kName + " -addext subjectAltName=DNS:" + kName +
                       " -keyout leaf.key -out leaf.pem 2>/dev/null",
                   60s);
    if (pki.exit_code != 0) return "test PKI: " + pki.err;
    f_->topo().spawn(topo().server(),
                     "exec openssl s_server -quiet -accept 443 -www -cert " + p +
                         "/leaf.pem -key " + p + "/leaf.key",
                     "s_server");
    if (!listening(topo().server(), 443)) return "openssl s_server did not start";
    std::ofstream(f_->config_path(), std::ios::app)
        << "trust_store = \"" << p << "/ca.pem\"\ncrl_host = \"" << addr_ << "\"\n";
    return "";
  }

  static bool listening(const std::string& ns, int port) {
    return eventually(
        [&] {
          return topo()
                     .enter(ns, "ss -Hltn 'sport = :" + std::to_string(port) + "' | grep -q LISTEN")
                     .exit_code == 0;
        },
        10s);
  }

  // The trusted issuer from `ca show --json`, downloaded from its URL: through steering already.
  static std::string fetch_issuer() {
    auto r = f_->cli("ca show --json");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || !j.is_object() || !j.contains("issuers")) return "ca show: " + r.out;
    issuer_ = j["issuers"][0];
    const std::string url = issuer_.value("pem_url", "");
    if (!contains(url, "http://" + host_ + "/wirebump/ca/")) return "pem_url: " + url;
    issuer_pem_ = dir() + "/issuer.pem";
    auto got = f_->client("curl -sS --max-time 10 -o " + issuer_pem_ + " " + url, 20s);
    return got.exit_code == 0 ? "" : "curl " + url + ": " + got.err;
  }

  static CommandResult s_client(const std::string& options) {
    return f_->client("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -ign_eof -connect " +
                          std::string(Topology::kServerIp) + ":443 -servername " + kName + " " +
                          options + " 2>&1",
                      30s);
  }

  // Packets the classifier counted for `reason` (status --json), 0 without an answer.
  static std::uint64_t reason_packets(const std::string& reason) {
    const auto status = f_->status();
    if (!status.is_object()) return 0;
    for (const auto& row : status["counters"]) {
      if (row.value("reason", "") == reason) return row.value("packets", 0ull);
    }
    return 0;
  }
  static std::uint64_t steered_crl_syns() { return reason_packets("steer_crl"); }

  static inline std::unique_ptr<AgentFixture> f_;
  static inline std::string setup_error_;
  static inline nlohmann::json issuer_;
  static inline std::string issuer_pem_;
  static inline std::string addr_, host_;  // "2001:db8:80::80", "[2001:db8:80::80]"
  static inline bool v6_ = false;

  // The address as bpftool prints a wb_crl_key: 16 decimal bytes, IPv4 v4-mapped.
  static std::string key_bytes() {
    unsigned char a[16] = {};
    if (v6_) {
      inet_pton(AF_INET6, addr_.c_str(), a);
    } else {
      a[10] = a[11] = 0xff;
      inet_pton(AF_INET, addr_.c_str(), a + 12);
    }
    std::string out;
    for (unsigned char b : a) out += (out.empty() ? "" : ",") + std::to_string(b);
    return out;
  }

  void check_status();
  void check_strict_client();
  void check_issuer_and_ocsp();
  void check_other_port_passes();
};

class CrlSteerV6 : public CrlSteer {
 protected:
  static void SetUpTestSuite() { set_up("2001:db8:80::80"); }
};

void CrlSteer::check_status() {
  auto status = f_->status();
  ASSERT_TRUE(status.is_object());
  const auto& crl = status["crl_host"];
  EXPECT_EQ(crl.value("host", ""), host_) << crl.dump();  // as in the URLs
  EXPECT_TRUE(crl.value("steering_listener", false)) << crl.dump();
  ASSERT_EQ(crl["addresses"].size(), 1u) << crl.dump();
  EXPECT_EQ(crl["addresses"][0].value("address", ""), addr_);
  EXPECT_EQ(crl["addresses"][0].value("serving", ""), "steered");
  EXPECT_FALSE(crl.contains("resolve_error")) << crl.dump();
  auto human = f_->cli("status");
  EXPECT_TRUE(contains(human.out, "crl host       " + host_ + " (" + addr_ + " steered)"))
      << human.out;
  // Visible to operators with bpftool, v4-mapped like every address the programs see.
  auto dump =
      topo().enter(topo().bridge(), "bpftool map dump pinned " + f_->pin_dir() + "/wb_crl_addr");
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_TRUE(contains(dump.out, "\"addr\"")) << dump.out;
  EXPECT_TRUE(contains(dump.out, key_bytes())) << key_bytes() << " in " << dump.out;
  // The issuer download in the set-up already went through steering.
  EXPECT_GE(steered_crl_syns(), 1u);
}

void CrlSteer::check_strict_client() {
  const auto before = steered_crl_syns();
  auto ok = s_client("-CAfile " + issuer_pem_ +
                     " -crl_check -crl_download -verify_return_error -showcerts");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(contains(ok.out, "Verify return code: 0 (ok)")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "HTTP/1.0 200 ok")) << ok.out;  // the upstream answered
  const std::string id = issuer_.value("issuer_id", "");
  // The forged certificate names the steered host.
  const std::string leaf = dir() + "/forged.pem";
  auto saved = run("printf '%s' " + shell_quote(ok.out) + " | openssl x509 -out " + leaf +
                   " && openssl x509 -in " + leaf + " -noout -text");
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_TRUE(contains(saved.out, "URI:http://" + host_ + "/wirebump/crl/" + id + ".crl"))
      << saved.out;
  // openssl fetched the CRL through the bridge: one more steered SYN at least.
  EXPECT_GT(steered_crl_syns(), before);
}

void CrlSteer::check_issuer_and_ocsp() {
  const std::string id = issuer_.value("issuer_id", "");
  const std::string der = dir() + "/issuer.der";
  auto r = f_->client(
      "curl -sS --max-time 10 -o " + der + " http://" + host_ + "/wirebump/ca/" + id + ".crt", 20s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto fp = run("openssl x509 -inform DER -in " + der + " -noout -fingerprint -sha256");
  EXPECT_TRUE(contains(fp.out, issuer_.value("sha256", "?"))) << fp.out;

  const std::string leaf = dir() + "/ocsp-leaf.pem";
  auto hs = s_client("-showcerts -CAfile " + issuer_pem_);
  ASSERT_EQ(run("printf '%s' " + shell_quote(hs.out) + " | openssl x509 -out " + leaf).exit_code, 0)
      << hs.out;
  auto ocsp =
      f_->client("openssl ocsp -issuer " + issuer_pem_ + " -cert " + leaf + " -CAfile " +
                     issuer_pem_ + " -url http://" + host_ + "/wirebump/ocsp -timeout 10 2>&1",
                 30s);
  EXPECT_EQ(ocsp.exit_code, 0) << ocsp.out;
  EXPECT_TRUE(contains(ocsp.out, "Response verify OK")) << ocsp.out;
  EXPECT_TRUE(contains(ocsp.out, leaf + ": good")) << ocsp.out;
}

// A client that reuses its source port right away is answered again each time: whichever side
// holds the old 4-tuple in TIME_WAIT, the new SYN is steered to the revocation listener (as
// steer_crl, or as steer_time_wait with wb_sk_lookup picking the CRL slot), never lost.
//
// Who closes first is a race (the agent sends the response, then its FIN; the client closes once
// it has the body). When the client does, its own TIME_WAIT holds the port, and a client without
// SO_REUSEADDR (curl --local-port) cannot even bind it: the client's kernel refuses, the bridge
// never sees a SYN. So the client here binds with SO_REUSEADDR and its namespace allows reusing
// a TIME_WAIT 4-tuple (tcp_tw_reuse = 1, more than 1 s after its last timestamp), as a busy NAT
// or proxy client does.
TEST_F(CrlSteer, ClientReusingItsPortIsAnsweredAgain) {
  const std::string id = issuer_.value("issuer_id", "");
  ASSERT_EQ(f_->client("sysctl -qw net.ipv4.tcp_tw_reuse=1").exit_code, 0);
  const std::string get = "python3 -c " + shell_quote(R"(
import socket, sys
host, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(5)
s.bind(("", 40080))
s.connect((host, 80))
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.split(b" ", 2)[1].decode())
)") + " " + addr_ + " /wirebump/ca/" +
                          id + ".pem";
  auto steered = [] { return steered_crl_syns() + reason_packets("steer_time_wait"); };
  const auto before = steered();
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(1100ms);  // tcp_tw_reuse: > 1 s since the last one
    auto r = f_->client(get, 20s);
    EXPECT_EQ(r.exit_code, 0) << "attempt " << i << ": " << r.err;
    EXPECT_EQ(r.out, "200") << "attempt " << i << ": " << r.err;
  }
  EXPECT_EQ(steered(), before + 3);
}

// Only port 80 of the CRL host is the agent's: another port reaches whoever really owns the
// address (socat in the server namespace), with the client's own address.
void CrlSteer::check_other_port_passes() {
  const std::string listen =
      v6_ ? "TCP6-LISTEN:8081,bind=" + host_ : "TCP-LISTEN:8081,bind=" + addr_;
  f_->topo().spawn(
      topo().server(),
      "exec socat " + listen + ",reuseaddr,fork SYSTEM:'echo owner-8081 from $SOCAT_PEERADDR'",
      "socat-8081");
  ASSERT_TRUE(listening(topo().server(), 8081));
  auto r = f_->client(
      "timeout 10 socat -T5 - " + std::string(v6_ ? "TCP6:" : "TCP:") + host_ + ":8081 </dev/null",
      20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "owner-8081 from ")) << r.out;
  // socat writes IPv6 peers in full: [2001:0db8:0000:0000:0000:0000:0000:0001].
  EXPECT_TRUE(contains(r.out, v6_ ? "[2001:0db8:0000:0000:0000:0000:0000:0001]"
                                  : std::string(Topology::kClientIp) + "\n"))
      << r.out;
}

TEST_F(CrlSteer, StatusShowsTheCrlHostSteeredAndTheMapHoldsIt) {
  check_status();
}
TEST_F(CrlSteer, StrictClientDownloadsTheCrlFromTheSteeredHost) {
  check_strict_client();
}
TEST_F(CrlSteer, IssuerCertificateAndOcspAreAnsweredByTheAgent) {
  check_issuer_and_ocsp();
}
TEST_F(CrlSteer, OtherPortsOfTheCrlHostPassToItsOwner) {
  check_other_port_passes();
}
TEST_F(CrlSteerV6, StatusShowsTheCrlHostSteeredAndTheMapHoldsIt) {
  check_status();
}
TEST_F(CrlSteerV6, StrictClientDownloadsTheCrlFromTheSteeredHost) {
  check_strict_client();
}
TEST_F(CrlSteerV6, IssuerCertificateAndOcspAreAnsweredByTheAgent) {
  check_issuer_and_ocsp();
}
TEST_F(CrlSteerV6, OtherPortsOfTheCrlHostPassToItsOwner) {
  check_other_port_passes();
}

// Last (gtest runs a suite in definition order): the agent stops, port 80 of the CRL host
// fails open to its owner, and `wirebump down` removes the pin.
TEST_F(CrlSteer, AgentDownFailsOpenAndDownRemovesThePin) {
  f_->topo().spawn(
      topo().server(),
      "exec socat TCP-LISTEN:80,bind=" + addr_ + ",reuseaddr,fork SYSTEM:'echo owner-80'",
      "socat-80");
  ASSERT_TRUE(listening(topo().server(), 80));
  // While the agent runs, port 80 is the agent's (the owner never sees it).
  auto agent = f_->client(
      "curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://" + host_ + "/index.html", 20s);
  EXPECT_EQ(agent.out, "404");
  ASSERT_NE(f_->agent(), nullptr);
  f_->agent()->stop(8s);
  auto owner = f_->client("timeout 10 socat -T5 - TCP:" + addr_ + ":80 </dev/null", 20s);
  EXPECT_EQ(owner.out, "owner-80\n") << owner.err;
  const std::string pin = f_->pin_dir() + "/wb_crl_addr";
  EXPECT_EQ(topo().enter(topo().bridge(), "test -e " + pin).exit_code, 0);
  auto down = f_->cli("down");
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_NE(topo().enter(topo().bridge(), "test -e " + pin).exit_code, 0) << "pin left behind";
}

}  // namespace
}  // namespace wb::test
