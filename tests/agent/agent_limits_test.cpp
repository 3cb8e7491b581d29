// limits.max_sessions_per_client through the real agent: one client address cannot hold more
// sessions than that; the next one is refused (on_max_sessions = "refuse") and counted apart,
// in `wirebump status` too (that other client addresses keep their own share is covered by
// relay_lifecycle_test and session_table_test).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/agent/agent_fixture.h"

namespace wb::test {
namespace {

// Holds `hold` idle connections to nginx open, then tries one more and reports whether it was
// reset ("extra reset") or served ("extra served"); "held N" first.
constexpr const char* kHolder = R"PY(
import socket, sys, time
hold = int(sys.argv[1])
held = []
for _ in range(hold):
    s = socket.create_connection(("192.0.2.2", 8080), timeout=5)
    held.append(s)
time.sleep(0.5)
print("held", len(held), flush=True)
s = socket.create_connection(("192.0.2.2", 8080), timeout=5)
try:
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
    data = s.recv(4096)
    print("extra served" if data else "extra closed")
except ConnectionResetError:
    print("extra reset")
except OSError as e:
    print("extra", e)
)PY";

TEST(AgentLimitsTest, PerClientLimitRefusesTheNextSessionOfThatClientOnly) {
  AgentFixture f;
  ASSERT_TRUE(f.topo().ok()) << f.topo().error();
  ASSERT_EQ(f.start_servers(), "");
  std::ofstream(f.config_path(), std::ios::app)
      << "[limits]\nmax_sessions = 100\nmax_sessions_per_client = 3\n";
  ASSERT_EQ(f.start_agent(), "");
  const std::string script = f.topo().dir() + "/holder.py";
  std::ofstream(script) << kHolder;

  auto r = f.client("/usr/bin/python3 " + script + " 3", std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "held 3\nextra reset\n") << r.err;
  auto status = f.status();
  EXPECT_EQ(status["sessions"]["max_per_client"], 3);
  EXPECT_EQ(status["sessions"]["refused_per_client"], 1);
  EXPECT_EQ(status["sessions"]["refused"], 0);  // the table itself was not full
  auto human = f.cli("status");
  EXPECT_NE(human.out.find("per client     max 3, refused 1"), std::string::npos) << human.out;

  // Below the limit (the holder exited: its sessions are gone) the client is served again.
  auto again = f.client("/usr/bin/python3 " + script + " 2", std::chrono::seconds(30));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "held 2\nextra served\n") << again.err;
  EXPECT_EQ(f.status()["sessions"]["refused_per_client"], 1);
}

}  // namespace
}  // namespace wb::test
