// The speculative handshake (agent/intercept/speculation_hints.h) and the upstream verification
// cache (verify_cache.h) on the real relay, with openssl s_server and curl
// (intercept_e2e_fixture.h). A slow upstream (a TCP hop that waits before connecting) makes the
// order of the two handshakes visible in curl's own timings.
#include <poll.h>
#include <unistd.h>

#include <sstream>

#include "tests/intercept/intercept_e2e_fixture.h"

namespace wb::intercept::e2e {
namespace {

constexpr auto kUpstreamDelay = 400ms;

// A TCP hop in front of 127.0.0.1:`to` that waits `delay` after accepting before it connects:
// an upstream whose handshake takes that much longer. Bounded in time and rounds.
std::unique_ptr<test::TestServer> slow_upstream(std::uint16_t to, std::chrono::milliseconds delay) {
  return std::make_unique<test::TestServer>([to, delay](int fd) {
    std::this_thread::sleep_for(delay);
    UniqueFd up = test::connect_to(session::Endpoint::loopback_v4(to));
    if (!up) return;
    pollfd fds[2] = {{fd, POLLIN, 0}, {up.get(), POLLIN, 0}};
    char buf[16384];
    for (int round = 0; round < 10000; ++round) {
      if (poll(fds, 2, 10'000) <= 0) return;
      for (int i = 0; i < 2; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0 || !test::write_all(fds[1 - i].fd, buf, static_cast<std::size_t>(n))) return;
      }
    }
  });
}

struct Timed {
  int exit_code = -1;
  int http = 0;
  double connect = 0, appconnect = 0, first_byte = 0;  // seconds from the start, curl's own
  std::string err;
  double handshake() const { return appconnect - connect; }
};

class SpeculationE2E : public InterceptE2E {
 protected:
  // One HTTPS request through the relay trusting only the bridge's issuer, with curl's timings.
  Timed timed_curl() {
    auto r = run("curl -sS --max-time 10 -o /dev/null --cacert " + issuer_file_ +
                     " -w '%{time_connect} %{time_appconnect} %{time_starttransfer} "
                     "%{http_code}'" +
                     resolve("www.example.test") + url("www.example.test"),
                 20s);
    Timed t;
    t.exit_code = r.exit_code;
    t.err = r.err;
    std::istringstream(r.out) >> t.connect >> t.appconnect >> t.first_byte >> t.http;
    return t;
  }
};

TEST_F(SpeculationE2E, SecondConnectionIsAnsweredWhileTheUpstreamHandshakeRuns) {
  const auto server = start_server("-www -no_ticket -no_cache");  // no upstream resumption
  auto slow = slow_upstream(server, kUpstreamDelay);
  start_relay(slow->address().port());

  const Timed first = timed_curl();
  ASSERT_EQ(first.exit_code, 0) << first.err << logs();
  EXPECT_EQ(first.http, 200);
  // Sequential: the client's handshake waited for the upstream's.
  EXPECT_GE(first.handshake(), 0.4) << first.appconnect;

  const Timed second = timed_curl();
  ASSERT_EQ(second.exit_code, 0) << second.err << logs();
  EXPECT_EQ(second.http, 200);
  // Speculative: answered at once, while its request waited for the upstream to verify.
  EXPECT_LT(second.handshake(), 0.3) << second.appconnect;
  EXPECT_GE(second.first_byte - second.connect, 0.4) << second.first_byte;

  const auto stats = service_->stats();
  EXPECT_EQ(stats.intercepted, 2u);
  EXPECT_EQ(stats.speculative, 1u);
  EXPECT_EQ(stats.speculative_aborted, 0u);
  EXPECT_EQ(stats.forged, 1u);  // the second reused the first's certificate
  // Both upstream handshakes were full ones; the second's chain was verified from the cache.
  EXPECT_EQ(stats.upstream_resumed, 0u);
  EXPECT_EQ(stats.verify_cache_misses, 1u);
  EXPECT_EQ(stats.verify_cache_hits, 1u);
  EXPECT_TRUE(contains(end_line("www.example.test"), "intercepted (speculative handshake)"))
      << logs();
}

TEST_F(SpeculationE2E, AnUnverifiedUpstreamIsNeverCarriedToTheClient) {
  const auto port = free_port();
  start_server("-www -no_ticket -no_cache", port);
  start_relay(port);
  const Timed first = timed_curl();
  ASSERT_EQ(first.exit_code, 0) << first.err << logs();
  EXPECT_EQ(first.http, 200);

  // The server now shows a certificate the bridge cannot verify (another root).
  auto other = test::make_ca("Some Other Root");
  test::make_leaf(other, "www.example.test", {"www.example.test"}).write(dir_, "rogue");
  servers_.clear();
  ASSERT_TRUE(test::eventually([&] { return !port_open(port); }, 10s));
  start_server("-www -no_ticket -no_cache", port, "rogue");

  // The client was answered from the hint, then reset: not one byte of the server's reached it.
  const Timed second = timed_curl();
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.http, 200) << second.err;
  auto stats = service_->stats();
  EXPECT_EQ(stats.speculative, 1u);
  EXPECT_EQ(stats.speculative_aborted, 1u);
  EXPECT_EQ(stats.untrusted_upstreams, 1u);
  EXPECT_TRUE(test::eventually(
      [&] {
        return contains(end_line("www.example.test"),
                        "speculative handshake aborted: upstream certificate not verified");
      },
      5s))
      << logs();

  // The hint is gone: the next connection waits for the upstream and gets the untrusted issuer,
  // which a client trusting only the bridge's trusted issuer refuses.
  auto chain = run("openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                       " -servername www.example.test </dev/null 2>&1",
                   20s);
  EXPECT_TRUE(contains(chain.out, "wirebump UNTRUSTED issuer")) << chain.out;
  stats = service_->stats();
  EXPECT_EQ(stats.speculative, 1u);
  EXPECT_EQ(stats.untrusted_upstreams, 2u);
  EXPECT_EQ(stats.verify_cache_hits, 0u);  // failures are never kept
}

TEST_F(SpeculationE2E, OffMeansTheClientAlwaysWaitsForTheUpstream) {
  const auto server = start_server("-www -no_ticket -no_cache");
  auto slow = slow_upstream(server, kUpstreamDelay);
  start_relay(slow->address().port(), /*keylog=*/false, /*speculative_handshake=*/false);
  for (int i = 0; i < 2; ++i) {
    const Timed t = timed_curl();
    ASSERT_EQ(t.exit_code, 0) << t.err << logs();
    EXPECT_EQ(t.http, 200);
    EXPECT_GE(t.handshake(), 0.4) << i;
  }
  EXPECT_EQ(service_->stats().speculative, 0u);
  EXPECT_EQ(service_->speculation_hints(), nullptr);
}

}  // namespace
}  // namespace wb::intercept::e2e
