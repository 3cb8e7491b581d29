// Compaction on the real relay: a quiet intercepted session's two TLS 1.3 legs leave OpenSSL for
// agent/tls13's record layer, and the session carries on with real OpenSSL peers on both sides
// (openssl s_client towards the client leg, openssl s_server -rev behind the upstream leg),
// including a KeyUpdate the client asks for after the hand-off and the server's session tickets
// before it. Every suite the record layer knows is on one leg or the other.
#include "tests/intercept/intercept_e2e_fixture.h"

namespace wb::intercept::e2e {
namespace {

class CompactionE2E : public InterceptE2E {
 protected:
  // s_server -rev answers each line reversed: a protocol nobody detects, allowed for this SNI.
  void allow_undetected(const std::string& sni) {
    policy::Match exception;
    exception.sni = *policy::SniPattern::parse(sni);
    ASSERT_TRUE(policy_.add_rule(exception, policy::Action::kAllowUndetected).ok());
  }
  // s_client sending `script` (a shell sequence of printf/sleep) in the background.
  test::Process client(const std::string& script, const std::string& suites) {
    return test::Process::spawn("(" + script +
                                    ") | exec openssl s_client -quiet -no_ign_eof -connect "
                                    "127.0.0.1:" +
                                    std::to_string(port_) +
                                    " -servername banner.example.test -CAfile " + issuer_file_ +
                                    " -ciphersuites " + suites + " 2>&1",
                                dir_ + "/client.log");
  }
};

TEST_F(CompactionE2E, QuietSessionLeavesOpenSslAndCarriesOnThroughAKeyUpdate) {
  start_relay(start_server("-rev -ciphersuites TLS_AES_128_GCM_SHA256"));
  allow_undetected("banner.example.test");
  // A line, 3 s of quiet (the quiet timer is 1 s), two more lines with the client's KeyUpdate
  // ('K': update_requested, so the compacted client leg must answer with its own) in between.
  auto c = client(
      "printf 'first line\\n'; sleep 3; printf 'second line\\n'; sleep 0.3; printf 'K\\n'; "
      "sleep 0.3; printf 'third line\\n'; sleep 1",
      "TLS_CHACHA20_POLY1305_SHA256");
  // Both legs are handed over during the quiet, before the second line.
  EXPECT_TRUE(test::eventually([&] { return service_->stats().compacted == 2; }, 3s))
      << service_->stats().compacted;
  EXPECT_FALSE(contains(c.log(), "enil dnoces"));
  EXPECT_EQ(c.wait(15s), 0) << c.log();
  const std::string out = c.log();
  EXPECT_TRUE(contains(out, "enil tsrif")) << out;
  EXPECT_TRUE(contains(out, "enil dnoces")) << out;  // through both record layers
  EXPECT_TRUE(contains(out, "KEYUPDATE")) << out;    // s_client did send it
  EXPECT_TRUE(contains(out, "enil driht")) << out;   // after the update both ways
  EXPECT_EQ(service_->stats().compacted, 2u);
  ASSERT_TRUE(test::eventually([&] { return !end_line("banner.example.test").empty(); }, 5s));
  EXPECT_FALSE(contains(end_line("banner.example.test"), "alert"))
      << end_line("banner.example.test");
}

TEST_F(CompactionE2E, SpeculativeSessionsAreCompactedToo) {
  start_relay(start_server("-rev"));
  allow_undetected("banner.example.test");
  spdlog::set_level(spdlog::level::debug);
  // The first session leaves a hint; the second is answered speculatively (its client leg starts
  // before the upstream handshake).
  for (int i = 0; i < 2; ++i) {
    auto c =
        client("printf 'line\\n'; sleep 2; printf 'again\\n'; sleep 0.5", "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(c.wait(15s), 0) << c.log();
    EXPECT_TRUE(contains(c.log(), "niaga")) << c.log();
  }
  EXPECT_EQ(service_->stats().speculative, 1u);
  EXPECT_EQ(service_->stats().compacted, 4u) << logs();
}

// A TLS 1.2 server (an SfB or Lync Edge speaks nothing newer): its leg moves to agent/tls12.
TEST_F(CompactionE2E, Tls12UpstreamLegIsCompactedToo) {
  start_relay(start_server("-rev -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384"));
  allow_undetected("banner.example.test");
  auto c = client("printf 'first line\\n'; sleep 2.5; printf 'second line\\n'; sleep 0.5",
                  "TLS_AES_128_GCM_SHA256");
  EXPECT_TRUE(test::eventually([&] { return service_->stats().compacted == 2; }, 3s))
      << service_->stats().compacted << logs();
  EXPECT_EQ(c.wait(15s), 0) << c.log();
  EXPECT_TRUE(contains(c.log(), "enil tsrif")) << c.log();
  EXPECT_TRUE(contains(c.log(), "enil dnoces")) << c.log();
}

// quiet_history.h: after compact_skip_after sessions that closed before going quiet, the next
// session to that destination skips the tracking (it goes quiet, stays on OpenSSL and still
// works), which brings the tracking back: the session after it is compacted again.
TEST_F(CompactionE2E, BusyDestinationSkipsTrackingUntilASessionGoesQuiet) {
  InterceptOptions options;
  options.compact_skip_after = 3;
  start_relay(start_server("-rev"), false, true, options);
  allow_undetected("banner.example.test");
  auto session = [&](const std::string& script) {
    auto c = client(script, "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(c.wait(15s), 0) << c.log();
    // Ended: its handler has told the history (one worker, so before the next session).
    EXPECT_TRUE(test::eventually([&] { return table_->snapshot().empty(); }, 5s));
    return c.log();
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(contains(session("printf 'busy\\n'; sleep 0.3"), "ysub"));
  }
  EXPECT_EQ(service_->stats().untracked, 0u);
  const std::string quiet = "printf 'first line\\n'; sleep 2; printf 'second line\\n'; sleep 0.5";
  EXPECT_TRUE(contains(session(quiet), "enil dnoces"));
  auto stats = service_->stats();
  EXPECT_EQ(stats.intercepted, 4u) << logs();
  EXPECT_EQ(stats.untracked, 1u);
  EXPECT_EQ(stats.untracked_quiet, 1u);
  EXPECT_EQ(stats.compacted, 0u);  // went quiet without the secrets: stayed on OpenSSL
  EXPECT_TRUE(contains(session(quiet), "enil dnoces"));
  stats = service_->stats();
  EXPECT_EQ(stats.untracked, 1u);
  EXPECT_EQ(stats.compacted, 2u) << logs();
}

// A key-log file makes OpenSSL format every secret anyway: every session stays tracked.
TEST_F(CompactionE2E, KeyLogFileKeepsEverySessionTracked) {
  InterceptOptions options;
  options.compact_skip_after = 1;
  start_relay(start_server("-rev"), /*keylog=*/true, true, options);
  allow_undetected("banner.example.test");
  EXPECT_EQ(service_->quiet_history(), nullptr);
  for (int i = 0; i < 2; ++i) {
    auto c = client("printf 'busy\\n'; sleep 0.3", "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(c.wait(15s), 0) << c.log();
    EXPECT_TRUE(test::eventually([&] { return table_->snapshot().empty(); }, 5s));
  }
  EXPECT_EQ(service_->stats().untracked, 0u);
  EXPECT_EQ(service_->upstream_ctx(true), service_->upstream_ctx(false));
}

TEST_F(CompactionE2E, OffKeepsEverySessionOnOpenSsl) {
  InterceptOptions options;
  options.compact_idle_sessions = false;
  start_relay(start_server("-rev"), false, true, options);
  allow_undetected("banner.example.test");
  auto c = client("printf 'first line\\n'; sleep 2; printf 'second line\\n'; sleep 1",
                  "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(c.wait(15s), 0) << c.log();
  EXPECT_TRUE(contains(c.log(), "enil dnoces")) << c.log();
  EXPECT_EQ(service_->stats().compacted, 0u);
}

}  // namespace
}  // namespace wb::intercept::e2e
