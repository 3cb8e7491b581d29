// The agent end to end: real kernel, real BPF steering, real nginx/curl/socat, in the Topology
// fixture. Each test fails when the relay, the steering or the setup/teardown breaks.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/agent/agent_fixture.h"

namespace wb::test {
namespace {

class AgentE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(f_.topo().ok()) << f_.topo().error();
    ASSERT_EQ(f_.start_servers(), "");
  }
  AgentFixture f_;
};

long counter(const nlohmann::json& status, const std::string& reason) {
  for (const auto& row : status["counters"]) {
    if (row["reason"] == reason) return row["packets"].get<long>();
  }
  return -1;
}

// "192.0.2.1 40000 ..." lines of nginx's access log for a client port.
bool logged_from(const std::string& log, const std::string& address, const std::string& port) {
  return log.find(address + " " + port + " ") != std::string::npos;
}

TEST_F(AgentE2eTest, RelaysHttpAndHttpsKeepingTheClientAddress) {
  ASSERT_EQ(f_.start_agent(), "");
  // Plain HTTP on a candidate port, IPv4 and IPv6, and HTTPS on 443.
  auto http =
      f_.client("curl -sS --max-time 10 -w ' %{local_port}' http://192.0.2.2:8080/hello.txt");
  ASSERT_EQ(http.exit_code, 0) << http.err;
  EXPECT_EQ(http.out.substr(0, http.out.rfind(' ')), "hello through the bridge\n");
  const std::string http_port = http.out.substr(http.out.rfind(' ') + 1);
  auto https = f_.client(
      "curl -sS -k --max-time 10 -w ' %{local_port}' --resolve server.test:443:192.0.2.2 "
      "https://server.test/hello.txt");
  ASSERT_EQ(https.exit_code, 0) << https.err;
  EXPECT_EQ(https.out.substr(0, https.out.rfind(' ')), "hello through the bridge\n");
  const std::string https_port = https.out.substr(https.out.rfind(' ') + 1);
  auto v6 =
      f_.client("curl -sS --max-time 10 -w ' %{local_port}' http://[2001:db8::2]:8080/hello.txt");
  ASSERT_EQ(v6.exit_code, 0) << v6.err;
  const std::string v6_port = v6.out.substr(v6.out.rfind(' ') + 1);

  // The server saw the client's own address and port: the bridge is invisible.
  ASSERT_TRUE(eventually([&] { return logged_from(f_.access_log(), "192.0.2.1", https_port); }))
      << f_.access_log() << " port " << https_port;
  const std::string log = f_.access_log();
  EXPECT_TRUE(logged_from(log, "192.0.2.1", http_port)) << log;
  EXPECT_TRUE(logged_from(log, "2001:db8::1", v6_port)) << log;

  // ...and the connections really went through the agent.
  auto status = f_.status();
  ASSERT_TRUE(status.is_object());
  EXPECT_GE(status["relay"]["accepted"].get<long>(), 3);
  EXPECT_GE(counter(status, "steer_syn"), 3);
  EXPECT_GE(counter(status, "steer_server"), 3);
  EXPECT_EQ(status["agent"]["programs_attached_at_start"], 2);
  EXPECT_TRUE(status["intercept"].get<bool>());

  // A non-candidate port is bridged without the agent.
  long before = f_.accepted();
  ASSERT_EQ(f_.client("curl -sS --max-time 10 http://192.0.2.2:7000/hello.txt").exit_code, 0);
  EXPECT_EQ(f_.accepted(), before);

  // A held-open session shows in `sessions` with both endpoints, and in status by protocol.
  f_.topo().spawn(f_.topo().server(), "exec socat TCP-LISTEN:9001,reuseaddr OPEN:/dev/null",
                  "sink-idle");
  ASSERT_TRUE(eventually([&] {
    return f_.topo()
               .exec(f_.topo().server(), "ss -Hltn 'sport = :9001' | grep -q LISTEN")
               .exit_code == 0;
  }));
  auto& held = f_.topo().spawn(f_.topo().client(),
                               "exec sleep 30 | socat -T 30 - TCP:192.0.2.2:9001", "holder");
  nlohmann::json sessions;
  ASSERT_TRUE(eventually([&] {
    auto r = f_.cli("sessions --json");
    sessions = nlohmann::json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && sessions.is_object() && !sessions["sessions"].empty();
  }));
  const auto& s = sessions["sessions"][0];
  EXPECT_EQ(s["server"], "192.0.2.2:9001");
  EXPECT_EQ(s["client"].get<std::string>().rfind("192.0.2.1:", 0), 0u) << s.dump();
  auto human = f_.cli("sessions");
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("192.0.2.2:9001"), std::string::npos) << human.out;
  EXPECT_EQ(f_.status()["sessions"]["active"], 1);
  held.stop();
}

TEST_F(AgentE2eTest, HundredMegabytesBothWaysAndHalfClose) {
  ASSERT_EQ(f_.start_agent(), "");
  const std::string d = f_.topo().dir();
  ASSERT_EQ(run("head -c 100000000 /dev/urandom > " + d + "/www/big.bin").exit_code, 0);
  const std::string sum = sha256_file(d + "/www/big.bin");

  // Server -> client through nginx.
  auto down =
      f_.client("curl -sS --max-time 120 -o " + d + "/down.bin http://192.0.2.2:8080/big.bin",
                std::chrono::seconds(150));
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(sha256_file(d + "/down.bin"), sum);

  // Client -> server into a socat sink.
  auto& sink =
      f_.topo().spawn(f_.topo().server(),
                      "exec socat -u TCP-LISTEN:9001,reuseaddr CREATE:" + d + "/up.bin", "sink");
  ASSERT_TRUE(eventually([&] {
    return f_.topo()
               .exec(f_.topo().server(), "ss -Hltn 'sport = :9001' | grep -q LISTEN")
               .exit_code == 0;
  }));
  auto up = f_.client("socat -u FILE:" + d + "/www/big.bin TCP:192.0.2.2:9001",
                      std::chrono::seconds(150));
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_GE(sink.wait(std::chrono::seconds(30)), 0);
  EXPECT_EQ(sha256_file(d + "/up.bin"), sum);

  // Half-close: the server answers only after the client finished writing (shutdown(SHUT_WR)).
  ASSERT_EQ(run("head -c 3000000 /dev/urandom > " + d + "/reply.bin").exit_code, 0);
  f_.topo().spawn(f_.topo().server(),
                  "exec socat TCP-LISTEN:5061,reuseaddr SYSTEM:'wc -c; cat " + d + "/reply.bin'",
                  "halfclose");
  ASSERT_TRUE(eventually([&] {
    return f_.topo()
               .exec(f_.topo().server(), "ss -Hltn 'sport = :5061' | grep -q LISTEN")
               .exit_code == 0;
  }));
  long before = f_.accepted();
  auto hc =
      f_.client("head -c 12345 /dev/zero | socat -t 30 - TCP:192.0.2.2:5061 > " + d + "/hc.out");
  ASSERT_EQ(hc.exit_code, 0) << hc.err;
  EXPECT_EQ(f_.accepted(), before + 1);
  ASSERT_EQ(run("head -n1 " + d + "/hc.out").out, "12345\n");
  ASSERT_EQ(run("tail -c +7 " + d + "/hc.out > " + d + "/hc.body").exit_code, 0);
  EXPECT_EQ(sha256_file(d + "/hc.body"), sha256_file(d + "/reply.bin"));
}

TEST_F(AgentE2eTest, FiveHundredConcurrentConnections) {
  ASSERT_EQ(f_.start_agent(), "");
  // 500 connections opened together, each held until all are established, then one request
  // each; every response must be complete.
  const std::string script = f_.topo().dir() + "/many.py";
  std::ofstream(script) << R"PY(
import asyncio, sys
N = 500
async def one(ready, go):
    r, w = await asyncio.open_connection("192.0.2.2", 8080)
    ready.append(1)
    await go.wait()
    w.write(b"GET /hello.txt HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
    await w.drain()
    data = await r.read()
    w.close()
    return data.endswith(b"hello through the bridge\n")
async def main():
    ready, go = [], asyncio.Event()
    tasks = [asyncio.create_task(one(ready, go)) for _ in range(N)]
    for _ in range(600):
        if len(ready) == N: break
        await asyncio.sleep(0.05)
    print("established", len(ready))
    go.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    print("ok", sum(1 for x in results if x is True))
asyncio.run(main())
)PY";
  long before = f_.accepted();
  auto r = f_.client("ulimit -n 4096; /usr/bin/python3 " + script, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("established 500"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok 500"), std::string::npos) << r.out;
  EXPECT_GE(f_.accepted(), before + 500);
}

// The tc filter's program id on a port of the bridge namespace, "" when none.
std::string tc_prog_id(Topology& topo, const std::string& port) {
  auto r = topo.exec(topo.bridge(), "tc filter show dev " + port + " ingress");
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex(R"( id (\d+))"))) return m[1];
  return "";
}

TEST_F(AgentE2eTest, SigkillFailsOpenAndRestartResumesWithoutReattaching) {
  ASSERT_EQ(f_.start_agent(), "");
  const std::string id1 = tc_prog_id(f_.topo(), "eth1");
  const std::string id2 = tc_prog_id(f_.topo(), "eth2");
  ASSERT_NE(id1, "");
  ASSERT_NE(id2, "");
  auto status = f_.status();
  ASSERT_TRUE(status.is_object());
  const int pid = status["agent"]["pid"].get<int>();
  ASSERT_EQ(run("kill -9 " + std::to_string(pid)).exit_code, 0);
  f_.agent()->wait(std::chrono::seconds(5));

  // No agent: new connections to a candidate port go straight to the server.
  EXPECT_EQ(f_.cli("status").exit_code, 3);
  auto direct =
      f_.client("curl -sS --max-time 10 -w ' %{local_port}' http://192.0.2.2:8080/hello.txt");
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  const std::string direct_port = direct.out.substr(direct.out.rfind(' ') + 1);
  ASSERT_TRUE(eventually([&] { return logged_from(f_.access_log(), "192.0.2.1", direct_port); }));
  auto dump = f_.topo().enter(f_.topo().bridge(),
                              "bpftool -j map dump pinned " + f_.pin_dir() + "/wb_counters");
  EXPECT_NE(dump.out.find("\"packets\""), std::string::npos) << dump.out << dump.err;

  // Restart: same programs stay attached, steering resumes.
  ASSERT_EQ(f_.start_agent(), "");
  EXPECT_EQ(tc_prog_id(f_.topo(), "eth1"), id1);
  EXPECT_EQ(tc_prog_id(f_.topo(), "eth2"), id2);
  status = f_.status();
  EXPECT_EQ(status["agent"]["programs_attached_at_start"], 0);
  EXPECT_EQ(status["agent"]["programs_kept_at_start"], 2);
  EXPECT_GE(counter(status, "agent_down"), 1);  // the SYN of the direct connection above
  long before = f_.accepted();
  auto relayed = f_.client("curl -sS --max-time 10 http://192.0.2.2:8080/hello.txt");
  ASSERT_EQ(relayed.exit_code, 0) << relayed.err;
  EXPECT_EQ(f_.accepted(), before + 1);
}

TEST_F(AgentE2eTest, InterceptOffBypassesNewConnectionsAndExistingOnesFinish) {
  ASSERT_EQ(f_.start_agent(), "");
  const std::string d = f_.topo().dir();
  ASSERT_EQ(run("head -c 2000000 /dev/urandom > " + d + "/reply.bin").exit_code, 0);
  f_.topo().spawn(
      f_.topo().server(),
      "exec socat TCP-LISTEN:5061,reuseaddr,fork SYSTEM:'wc -c; cat " + d + "/reply.bin'",
      "halfclose");
  ASSERT_TRUE(eventually([&] {
    return f_.topo()
               .exec(f_.topo().server(), "ss -Hltn 'sport = :5061' | grep -q LISTEN")
               .exit_code == 0;
  }));
  // A session that is open when interception goes off: it writes, waits, then half-closes.
  auto& slow = f_.topo().spawn(
      f_.topo().client(),
      "(head -c 100 /dev/zero; sleep 3) | socat -t 30 - TCP:192.0.2.2:5061 > " + d + "/slow.out",
      "slow");
  ASSERT_TRUE(eventually([&] { return f_.status()["sessions"]["active"] == 1; }));
  auto off = f_.cli("intercept off");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_FALSE(f_.status()["intercept"].get<bool>());
  long before = f_.accepted();
  ASSERT_EQ(f_.client("curl -sS --max-time 10 http://192.0.2.2:8080/hello.txt").exit_code, 0);
  EXPECT_EQ(f_.accepted(), before);  // bypassed in kernel
  EXPECT_GE(slow.wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(run("head -n1 " + d + "/slow.out").out, "100\n");
  EXPECT_EQ(run("wc -c < " + d + "/slow.out").out, "2000004\n");
  ASSERT_EQ(f_.cli("intercept on").exit_code, 0);
  ASSERT_EQ(f_.client("curl -sS --max-time 10 http://192.0.2.2:8080/hello.txt").exit_code, 0);
  EXPECT_EQ(f_.accepted(), before + 1);
}

// Everything `down` must restore: links (timers masked), rules, routes, qdiscs and filters.
std::string network_state(Topology& topo) {
  auto r = topo.exec(topo.bridge(),
                     "ip -d link show; ip rule; ip -6 rule; ip route show table all; "
                     "ip -6 route show table all; tc qdisc show; tc filter show dev eth1 ingress; "
                     "tc filter show dev eth2 ingress");
  return std::regex_replace(r.out, std::regex(R"(\w+_timer +[0-9.]+)"), "TIMER");
}

TEST_F(AgentE2eTest, DownLeavesNoRuleRoutePinOrProgramBehind) {
  std::string before = network_state(f_.topo());
  for (int i = 0; i < 8; ++i) {  // let IPv6 link-local setup of the fresh topology settle
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::string now = network_state(f_.topo());
    if (now == before) break;
    before = now;
  }
  ASSERT_EQ(f_.start_agent(), "");
  const std::string id = tc_prog_id(f_.topo(), "eth1");
  ASSERT_NE(id, "");
  EXPECT_NE(f_.topo().exec(f_.topo().bridge(), "ip rule").out.find("lookup 2076"),
            std::string::npos);
  ASSERT_EQ(f_.client("curl -sS --max-time 10 http://192.0.2.2:8080/hello.txt").exit_code, 0);
  // Killed, then `down`: the worst case (nothing was cleaned by the agent itself).
  const int pid = f_.status()["agent"]["pid"].get<int>();
  ASSERT_EQ(run("kill -9 " + std::to_string(pid)).exit_code, 0);
  f_.agent()->wait(std::chrono::seconds(5));
  auto down = f_.topo().enter(f_.topo().bridge(),
                              wirebump_binary() + " down -c " + shell_quote(f_.config_path()));
  ASSERT_EQ(down.exit_code, 0) << down.err << down.out;
  EXPECT_EQ(network_state(f_.topo()), before);
  EXPECT_NE(run("test -e " + f_.pin_dir()).exit_code, 0) << "pins left in " << f_.pin_dir();
  EXPECT_NE(run("bpftool prog show id " + id).exit_code, 0) << "program " << id << " still loaded";
  EXPECT_NE(run("test -e " + f_.topo().dir() + "/run/control.sock").exit_code, 0);
  // Idempotent.
  EXPECT_EQ(f_.topo()
                .enter(f_.topo().bridge(),
                       wirebump_binary() + " down -c " + shell_quote(f_.config_path()))
                .exit_code,
            0);
}

TEST_F(AgentE2eTest, DownStopsARunningAgentAndTheBridgeStillForwards) {
  ASSERT_EQ(f_.start_agent(), "");
  auto down = f_.topo().enter(f_.topo().bridge(),
                              wirebump_binary() + " down -c " + shell_quote(f_.config_path()));
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("stopped agent pid"), std::string::npos) << down.out;
  EXPECT_GE(f_.agent()->wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(tc_prog_id(f_.topo(), "eth1"), "");
  EXPECT_EQ(f_.client("curl -sS --max-time 10 http://192.0.2.2:8080/hello.txt").out,
            "hello through the bridge\n");
}

TEST_F(AgentE2eTest, ControlSocketRefusesNonRootPeers) {
  ASSERT_EQ(f_.start_agent(), "");
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  // The directory is 0700: an ordinary user cannot even reach the socket.
  auto denied = f_.topo().enter(f_.topo().bridge(), as_nobody + wirebump_binary() + " status -c " +
                                                        shell_quote(f_.config_path()));
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_EQ(denied.out.find("agent"), std::string::npos) << denied.out;
  // With the file permissions overridden, the agent itself refuses the uid (SO_PEERCRED).
  auto forbidden = f_.topo().enter(
      f_.topo().bridge(), as_nobody + "--inh-caps=+dac_override --ambient-caps=+dac_override " +
                              wirebump_binary() + " status -c " + shell_quote(f_.config_path()));
  EXPECT_NE(forbidden.exit_code, 0);
  EXPECT_EQ(forbidden.out, "");
  EXPECT_NE(forbidden.err, "") << "no refusal message";
  // The agent's own refusal names the peer's uid; the file mode alone could not know it.
  EXPECT_NE(forbidden.err.find("peer uid 65534"), std::string::npos) << forbidden.err;
  // Root still gets answers.
  EXPECT_EQ(f_.cli("status").exit_code, 0);
}

}  // namespace
}  // namespace wb::test
