// The interception handler on the real io_uring relay, with real TLS peers (openssl s_server,
// curl, openssl s_client) on loopback inside a private network namespace
// (intercept_e2e_fixture.h).
#include "tests/intercept/intercept_e2e_fixture.h"

namespace wb::intercept::e2e {
namespace {

using namespace std::chrono_literals;
using test::run;

TEST_F(InterceptE2E, HttpsIsInterceptedWithForgedChainEndingAtIssuer) {
  start_relay(start_server("-www"), /*keylog=*/true);
  // curl trusts only the bridge's issuer: it succeeds only through a forged certificate.
  auto r = curl("www.example.test", "--cacert " + issuer_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_TRUE(contains(r.out, "HTTP 200")) << r.out;
  EXPECT_TRUE(contains(r.out, "s_server")) << r.out;  // s_server -www's status page came through
  ASSERT_TRUE(test::eventually([&] { return !end_line("www.example.test").empty(); }, 5s))
      << logs();
  EXPECT_TRUE(
      contains(end_line("www.example.test"), " HTTPS sni=www.example.test verdict=intercept"))
      << end_line("www.example.test");

  // (A client that connects and leaves without a byte, as this s_client does, looks like a
  // pinning client, so the chain is inspected last.)

  // The chain: forged leaf with the server's names, CRL DP and AIA, issued by the issuer.
  auto chain = run("openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                       " -servername www.example.test -CAfile " + issuer_file_ +
                       " -verify_return_error -showcerts </dev/null 2>&1",
                   20s);
  EXPECT_TRUE(contains(chain.out, "Verify return code: 0 (ok)")) << chain.out;
  test::write_text(dir_ + "/chain.txt", chain.out);  // x509 reads the first PEM: the leaf
  const auto text = run("openssl x509 -noout -text -in " + dir_ + "/chain.txt", 10s);
  EXPECT_TRUE(contains(text.out, "DNS:www.example.test")) << text.out;
  EXPECT_TRUE(contains(text.out, "DNS:pinned.example.test")) << text.out;
  EXPECT_TRUE(contains(text.out, "X509v3 CRL Distribution Points")) << text.out;
  EXPECT_TRUE(contains(text.out, "http://crl.wirebump.test/wirebump/crl/")) << text.out;
  EXPECT_TRUE(contains(text.out, "OCSP - URI:http://crl.wirebump.test/wirebump/ocsp")) << text.out;
  EXPECT_FALSE(contains(text.out, "Issuer: CN = Real Test Root")) << text.out;

  // OCSP stapling: the client asked (status_request), the forged certificate's status is stapled.
  policy_.learned().flush();  // the s_client above left without data
  auto stapled =
      run("openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
              " -servername www.example.test -CAfile " + issuer_file_ + " -status </dev/null 2>&1",
          20s);
  EXPECT_TRUE(contains(stapled.out, "OCSP Response Status: successful")) << stapled.out;
  EXPECT_TRUE(contains(stapled.out, "Cert Status: good")) << stapled.out;

  EXPECT_GE(service_->stats().intercepted, 2u);

  // The key log has both legs' secrets, 0600.
  const auto keys = test::read_file(dir_ + "/keys.log");
  EXPECT_GE(std::count(keys.begin(), keys.end(), '\n'), 20);
  EXPECT_EQ(std::filesystem::status(dir_ + "/keys.log").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(InterceptE2E, UntrustedUpstreamGetsTheUntrustedIssuer) {
  // The bridge trusts another root: the real server does not verify, so its forged certificate
  // comes from the untrusted issuer and a client trusting the bridge's issuer still refuses it.
  const auto port = start_server("-www");
  auto other = test::make_ca("Some Other Root");
  ca_file_ = other.write(dir_, "other-ca");
  start_relay(port);
  // (A request, so that the session lasts until the server's session tickets arrived.)
  auto chain =
      run("(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1) | openssl s_client "
          "-connect 127.0.0.1:" +
              std::to_string(port_) + " -servername www.example.test 2>&1",
          20s);
  EXPECT_TRUE(contains(chain.out, "wirebump UNTRUSTED issuer")) << chain.out;
  EXPECT_EQ(service_->stats().untrusted_upstreams, 1u);
  EXPECT_EQ(service_->upstream_sessions()->size(), 1u);
  auto r = curl("www.example.test", "--cacert " + issuer_file_);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.err, "certificate")) << r.err;
  EXPECT_EQ(service_->stats().untrusted_upstreams, 2u);
  // The second upstream handshake resumed the first one's session (s_server issues tickets):
  // a resumed session keeps the original verdict, it never turns the server into a trusted one.
  EXPECT_EQ(service_->stats().upstream_resumed, 1u);
}

TEST_F(InterceptE2E, ClientCertificateServerIsTunnelledOnError) {
  start_relay(start_server("-www -Verify 1 -CAfile " + ca_file_));
  // The client presents its certificate to the REAL server: the tunnel must be untouched.
  auto r = curl("www.example.test", "--cacert " + ca_file_ + " --cert " + dir_ +
                                        "/client.crt --key " + dir_ + "/client.key");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_TRUE(contains(r.out, "HTTP 200")) << r.out;
  EXPECT_TRUE(contains(test::read_file(servers_[0]->log_path()), "client.example.test"))
      << "the real server saw the client's own certificate";
  EXPECT_EQ(service_->stats().tunnelled_on_error, 1u);
  EXPECT_TRUE(contains(logs(), "TUNNEL on error")) << logs();
  EXPECT_TRUE(contains(logs(), "client certificate requested")) << logs();
  auto learned = policy_.learned().list(policy::Clock::now());
  ASSERT_EQ(learned.size(), 1u);
  EXPECT_EQ(learned[0].reason, policy::LearnReason::kClientCertificateRequested);
  EXPECT_EQ(learned[0].key.sni, "www.example.test");

  // The next connection is tunnelled from the first byte (no failed upstream attempt).
  r = curl("www.example.test", "--cacert " + ca_file_ + " --cert " + dir_ + "/client.crt --key " +
                                   dir_ + "/client.key");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(service_->stats().tunnelled_on_error, 1u);
  EXPECT_EQ(policy_.counters().tunnelled_learned, 1u);
}

TEST_F(InterceptE2E, PinningClientFailsOnceThenIsTunnelled) {
  start_relay(start_server("-www"));
  const auto pin =
      run("openssl pkey -in " + dir_ +
              "/server.key -pubout -outform DER | openssl dgst -sha256 -binary | base64",
          10s);
  ASSERT_EQ(pin.exit_code, 0);
  std::string hash = pin.out;
  hash.erase(hash.find_last_not_of("\n") + 1);
  const std::string args = "--cacert " + both_file_ + " --pinnedpubkey sha256//" + hash;
  auto first = curl("pinned.example.test", args);
  EXPECT_NE(first.exit_code, 0) << first.out;
  EXPECT_TRUE(contains(first.err, "pinned") || contains(first.err, "public key")) << first.err;
  ASSERT_TRUE(test::eventually([&] { return policy_.learned().size() == 1; }, 5s)) << logs();
  auto learned = policy_.learned().list(policy::Clock::now());
  EXPECT_EQ(learned[0].key.sni, "pinned.example.test");
  EXPECT_EQ(learned[0].reason, policy::LearnReason::kClientClosedAfterHandshake);

  auto second = curl("pinned.example.test", args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(contains(second.out, "HTTP 200"));
  EXPECT_EQ(policy_.counters().tunnelled_learned, 1u);
}

TEST_F(InterceptE2E, ClientRejectingTheIssuerIsLearned) {
  start_relay(start_server("-www"));
  // A client that trusts only the real root sends unknown_ca for the forged chain.
  auto first = curl("bank.example.test", "--cacert " + ca_file_);
  EXPECT_NE(first.exit_code, 0);
  ASSERT_TRUE(test::eventually([&] { return policy_.learned().size() == 1; }, 5s)) << logs();
  EXPECT_EQ(policy_.learned().list(policy::Clock::now())[0].reason,
            policy::LearnReason::kClientRejectedCertificate);
  EXPECT_TRUE(contains(policy_.learned().list(policy::Clock::now())[0].detail, "unknown_ca"))
      << policy_.learned().list(policy::Clock::now())[0].detail;
  auto second = curl("bank.example.test", "--cacert " + ca_file_);
  ASSERT_EQ(second.exit_code, 0) << second.err;
}

TEST_F(InterceptE2E, UndetectedProtocolDeniedThenAllowedByException) {
  // s_server -rev answers every line reversed: a protocol nobody detects.
  start_relay(start_server("-rev"));
  auto denied =
      s_client("banner.example.test", "CUSTOM-PROTO hello\\n", 2, "-CAfile " + issuer_file_);
  EXPECT_FALSE(contains(denied.out, "olleh OTORP-MOTSUC")) << denied.out;
  EXPECT_EQ(policy_.counters().undetected_denied, 1u);
  EXPECT_EQ(service_->stats().denied, 1u);
  ASSERT_TRUE(test::eventually([&] { return !end_line("banner.example.test").empty(); }, 5s));
  EXPECT_TRUE(
      contains(end_line("banner.example.test"), "UNKNOWN sni=banner.example.test verdict=deny"))
      << end_line("banner.example.test");
  EXPECT_TRUE(contains(logs(), "undetected protocol inside TLS")) << logs();

  policy::Match exception;
  exception.sni = *policy::SniPattern::parse("banner.example.test");
  ASSERT_TRUE(policy_.add_rule(exception, policy::Action::kAllowUndetected).ok());
  auto allowed =
      s_client("banner.example.test", "CUSTOM-PROTO hello\\n", 2, "-CAfile " + issuer_file_);
  EXPECT_TRUE(contains(allowed.out, "olleh OTORP-MOTSUC")) << allowed.out;
  EXPECT_EQ(policy_.counters().undetected_allowed, 1u);
}

TEST_F(InterceptE2E, SipOverTlsIsDetectedAsSips) {
  start_relay(start_server("-rev"));
  std::optional<session::SessionRecord> seen;
  std::thread client([&] {
    s_client("sip.example.test",
             "REGISTER sip:example.test SIP/2.0\\r\\nVia: SIP/2.0/TLS 192.0.2.1:5061\\r\\n"
             "Content-Length: 0\\r\\n\\r\\n",
             3, "-CAfile " + issuer_file_);
  });
  // The inspector's state reaches the table when the session turns quiet (1 s here).
  seen = live_session([](const session::SessionRecord& r) {
    return r.protocol == session::Protocol::kSips && contains(r.inspector_brief, "REGISTER");
  });
  client.join();
  ASSERT_TRUE(seen.has_value()) << logs();
  EXPECT_EQ(seen->sni, "sip.example.test");
  EXPECT_EQ(seen->verdict, session::Verdict::kIntercept);
  EXPECT_TRUE(contains(seen->inspector_brief, "REGISTER")) << seen->inspector_brief;
}

TEST_F(InterceptE2E, SipsDetectionOffTunnelsAndLearns) {
  start_relay(start_server("-rev"));
  policy_.set_detect(policy::Detect::kSips, false);
  const std::string reg = "REGISTER sip:example.test SIP/2.0\\r\\nContent-Length: 0\\r\\n\\r\\n";
  auto first = s_client("sip.example.test", reg, 1, "-CAfile " + issuer_file_);
  EXPECT_TRUE(contains(first.out, "0.2/PIS")) << first.out;  // passed through, uninspected
  ASSERT_EQ(policy_.learned().size(), 1u);
  EXPECT_EQ(policy_.learned().list(policy::Clock::now())[0].detail, "detection off: sips");
  // Tunnelled from the first byte now: the client sees the REAL certificate.
  auto second =
      s_client("sip.example.test", reg, 1, "-CAfile " + ca_file_ + " -verify_return_error");
  EXPECT_TRUE(contains(second.out, "0.2/PIS")) << second.out;
  EXPECT_EQ(policy_.counters().tunnelled_learned, 1u);
}

TEST_F(InterceptE2E, PolicyBySniTunnels) {
  start_relay(start_server("-www"));
  policy::Match bank;
  bank.sni = *policy::SniPattern::parse("*.example.test");
  const auto id = policy_.add_rule(bank, policy::Action::kTunnel);
  ASSERT_TRUE(id.ok());
  // Tunnelled: only the real root verifies it.
  auto r = curl("bank.example.test", "--cacert " + ca_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(service_->stats().tunnelled, 1u);
  EXPECT_EQ(service_->stats().intercepted, 0u);
}

// A cold-cache burst: many new server certificates at once (a distinct one per SNI) while the
// certificate worker is held. The misses wait off the loop; on the same (single) relay worker an
// established intercepted session keeps doing round trips and a new connection whose
// certificate is cached completes its handshake. Released, every cold handshake completes with
// its own forged certificate. (Forging inline on the loop would complete the cold handshakes
// while the worker is held, and stall the others while it forges.)
TEST_F(InterceptE2E, ColdCacheBurstForgesOffTheLoopWhileOtherSessionsFlow) {
  test::SniTlsServer server(ca_);
  start_relay(server.address().port());
  const auto relay = session::Endpoint::loopback_v4(port_);
  test::TlsClient warm(relay, "warm.example.test", issuer_file_, 20s);
  ASSERT_TRUE(warm.ok()) << warm.error() << logs();
  ASSERT_TRUE(warm.request()) << logs();
  EXPECT_EQ(warm.peer_common_name(), "warm.example.test");
  EXPECT_EQ(service_->stats().forge_queued, 1u);

  constexpr int kCold = 24;
  std::atomic<int> done{0}, ok{0};
  std::vector<std::thread> cold;
  {
    auto hold = test::hold_cert_worker(*certs_, ca_);
    for (int i = 0; i < kCold; ++i) {
      cold.emplace_back([&, i] {
        const std::string sni = "cold-" + std::to_string(i) + ".example.test";
        test::TlsClient c(relay, sni, issuer_file_, 30s);
        if (c.ok() && c.peer_common_name() == sni && c.request()) ++ok;
        ++done;
      });
    }
    // Every cold session reached the worker's queue...
    ASSERT_TRUE(test::eventually([&] { return service_->stats().forge_queued == 1u + kCold; }, 20s))
        << service_->stats().forge_queued << logs();
    EXPECT_EQ(certs_->pending_forges(), static_cast<std::size_t>(kCold));
    // ... while the loop serves the others: round trips on the warm session,
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(warm.request()) << i;
    // and a new handshake to a server intercepted before (answered inline, speculatively).
    test::TlsClient again(relay, "warm.example.test", issuer_file_, 10s);
    ASSERT_TRUE(again.ok()) << again.error();
    EXPECT_TRUE(again.request());
    EXPECT_EQ(done.load(), 0);  // no cold handshake finished without the worker
    EXPECT_EQ(service_->stats().intercepted, 2u);
  }
  for (auto& t : cold) t.join();
  EXPECT_EQ(ok.load(), kCold) << logs();
  // One kept upstream session per SNI (the key includes it): every cold name was a full handshake.
  EXPECT_EQ(service_->stats().upstream_resumed, 1u);  // only `again`, a second warm.example.test
  EXPECT_EQ(server.certificates(), 1u + kCold);
  const auto stats = service_->stats();
  EXPECT_EQ(stats.forged, 1u + kCold);  // `again` reused warm's certificate from its hint
  EXPECT_EQ(stats.speculative, 1u);
  EXPECT_EQ(stats.speculative_aborted, 0u);
  EXPECT_EQ(stats.forge_errors, 0u);
  EXPECT_EQ(stats.intercepted, 2u + kCold);
  EXPECT_GE(stats.forge_wait_ns_max, stats.forge_ns_max);  // the wait was the worker's, not ours
}

TEST_F(InterceptE2E, PseudoTlsIsRelayedNotIntercepted) {
  // A minimal MS-TURN peer pair from the [MS-TURN] bytes: the server answers the 50-byte fake
  // hello with the 83-byte fake ServerHello, then echoes MS-TURN frames.
  std::vector<std::uint8_t> hello = {0x16, 0x03, 0x01, 0x00, 0x2d, 0x01,
                                     0x00, 0x00, 0x29, 0x03, 0x01};
  for (int i = 0; i < 32; ++i) hello.push_back(static_cast<std::uint8_t>(i * 13));
  for (std::uint8_t b : {0x00, 0x00, 0x02, 0x00, 0x18, 0x01, 0x00}) hello.push_back(b);
  ASSERT_EQ(hello.size(), 50u);
  std::vector<std::uint8_t> answer = {0x16, 0x03, 0x01, 0x00, 0x4e, 0x02,
                                      0x00, 0x00, 0x46, 0x03, 0x01};
  for (int i = 0; i < 32; ++i) answer.push_back(static_cast<std::uint8_t>(i));
  answer.push_back(0x20);
  for (int i = 0; i < 32; ++i) answer.push_back(static_cast<std::uint8_t>(0x80 + i));
  for (std::uint8_t b : {0x00, 0x18, 0x00, 0x0e, 0x00, 0x00, 0x00}) answer.push_back(b);
  ASSERT_EQ(answer.size(), 83u);
  // The Allocate request a Lync Edge answered, in MS-TURN TCP framing.
  const std::vector<std::uint8_t> allocate = {0x02, 0x00, 0x00, 0x20, 0x00, 0x03, 0x00, 0x0c, 0x21,
                                              0x12, 0xa4, 0x42, 0xf1, 0x3c, 0x08, 0x4b, 0x80, 0x18,
                                              0x17, 0x72, 0x47, 0x49, 0x30, 0x65, 0x00, 0x0f, 0x00,
                                              0x04, 0x72, 0xc6, 0x4b, 0xc6, 0x00, 0x06, 0x00, 0x00};
  std::vector<std::uint8_t> server_got;
  std::mutex mu;
  test::TestServer server([&](int fd) {
    std::vector<std::uint8_t> buf(4096);
    std::size_t total = 0;
    bool answered = false;
    test::set_timeouts(fd, 5000);
    for (;;) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) return;
      {
        std::lock_guard lock(mu);
        server_got.insert(server_got.end(), buf.begin(), buf.begin() + n);
        total = server_got.size();
      }
      if (!answered && total >= 50) {
        test::write_all(fd, answer.data(), answer.size());
        answered = true;
      }
      if (total >= 50 + allocate.size()) {
        test::write_all(fd, allocate.data(), allocate.size());  // echo as the "response"
        return;
      }
    }
  });
  start_relay(server.address().port());
  UniqueFd c = test::connect_to(session::Endpoint::loopback_v4(port_));
  ASSERT_TRUE(c);
  test::set_timeouts(c.get(), 5000);
  ASSERT_TRUE(test::write_all(c.get(), hello.data(), hello.size()));
  std::vector<std::uint8_t> got(83);
  ASSERT_EQ(recv(c.get(), got.data(), got.size(), MSG_WAITALL), 83);
  EXPECT_EQ(got, answer);  // the fake ServerHello arrived untouched: nothing was intercepted
  auto live = live_session(
      [](const session::SessionRecord& r) { return r.protocol == session::Protocol::kMsTurn; });
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->verdict, session::Verdict::kRelay);
  ASSERT_TRUE(test::write_all(c.get(), allocate.data(), allocate.size()));
  std::vector<std::uint8_t> echo(allocate.size());
  ASSERT_EQ(recv(c.get(), echo.data(), echo.size(), MSG_WAITALL),
            static_cast<ssize_t>(echo.size()));
  EXPECT_EQ(echo, allocate);
  {
    std::lock_guard lock(mu);
    ASSERT_GE(server_got.size(), 50u);
    EXPECT_TRUE(std::equal(hello.begin(), hello.end(), server_got.begin()));
  }
  EXPECT_EQ(service_->stats().intercepted, 0u);
  EXPECT_EQ(service_->stats().inspected_plaintext, 1u);
}

}  // namespace
}  // namespace wb::intercept::e2e
