// The interception handler driven without sockets: a SessionIo double records what the handler
// asks the relay to do, and real OpenSSL endpoints play the client and the server, so every byte
// the handler emits is checked by a real TLS peer.
#include "agent/intercept/intercept_handler.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "agent/intercept/tls_contexts.h"
#include "agent/relay/waker.h"
#include "certs/cert_service.h"
#include "tests/intercept/test_pki.h"
#include "tests/intercept/tls_peers.h"

namespace wb::intercept {
namespace {

using namespace std::chrono_literals;
using relay::Side;
using Progress = TlsEndpoint::Progress;

class FakeIo final : public relay::SessionIo {
 public:
  explicit FakeIo(relay::ConnectionInfo info) : info_(std::move(info)) {}
  const relay::ConnectionInfo& info() const override { return info_; }
  Status send(Side to, std::span<const std::uint8_t> bytes) override {
    if (closed) return make_error(std::errc::not_connected, "closed");
    auto& q = out[static_cast<int>(to)];
    q.insert(q.end(), bytes.begin(), bytes.end());
    return {};
  }
  std::size_t queued(Side) const override { return 0; }
  void shutdown_write(Side to) override { fin[static_cast<int>(to)] = true; }
  void close(relay::CloseMode mode, std::string_view why) override {
    if (closed) return;
    closed = true;
    close_mode = mode;
    close_reason = std::string(why);
  }
  Status connect_upstream() override {
    if (connect_requested) return make_error(std::errc::connection_already_in_progress, "upstream");
    connect_requested = true;
    return {};
  }
  Status reconnect_upstream() override {
    ++reconnects;
    out[1].clear();  // queued bytes towards the old server are dropped
    connected = false;
    connect_requested = true;
    return {};
  }
  bool upstream_connected() const override { return connected; }
  void pause_reading(Side from) override { paused[static_cast<int>(from)] = true; }
  void resume_reading(Side from) override { paused[static_cast<int>(from)] = false; }
  void set_first_bytes_timeout(std::chrono::milliseconds t) override { first_bytes_timeout = t; }
  void set_protocol(session::Protocol p) override { protocol = p; }
  void set_sni(std::string_view s) override { sni = std::string(s); }
  void set_verdict(session::Verdict v, std::string_view why) override {
    verdict = v;
    reason = std::string(why);
  }
  void set_inspection(std::string b, nlohmann::json) override { brief = std::move(b); }
  // A real mailbox (eventfd): the test delivers its posts as the relay worker would.
  relay::Waker waker() override { return relay::Waker(mailbox, 0, 0); }
  void relay_untouched() override { untouched = true; }

  // Waits up to `timeout` for posts and hands their tokens to `handler` as on_wake; false when
  // none came.
  bool deliver_wakes(relay::Handler& handler, std::chrono::milliseconds timeout) {
    const auto mails = take_wakes(timeout);
    for (const auto& m : mails) handler.on_wake(*this, m.token);
    return !mails.empty();
  }
  std::vector<relay::WakeMailbox::Mail> take_wakes(std::chrono::milliseconds timeout) {
    std::vector<relay::WakeMailbox::Mail> mails;
    pollfd p{mailbox->fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return mails;
    std::uint64_t count = 0;
    if (::read(mailbox->fd(), &count, sizeof count) != sizeof count) return mails;
    mailbox->take(mails);
    return mails;
  }

  // Takes what the handler sent towards `to`.
  std::vector<std::uint8_t> take(Side to) { return std::exchange(out[static_cast<int>(to)], {}); }

  relay::ConnectionInfo info_;
  std::shared_ptr<relay::WakeMailbox> mailbox = relay::WakeMailbox::create().value();
  std::vector<std::uint8_t> out[2];
  bool fin[2] = {false, false};
  bool paused[2] = {false, false};
  bool closed = false;
  relay::CloseMode close_mode = relay::CloseMode::kGraceful;
  std::string close_reason;
  bool connect_requested = false;
  bool untouched = false;
  bool connected = false;
  int reconnects = 0;
  std::chrono::milliseconds first_bytes_timeout{0};
  session::Protocol protocol = session::Protocol::kUnknown;
  session::Verdict verdict = session::Verdict::kPending;
  std::string sni, reason, brief;
};

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("icpt-h");
    ca_ = test::make_ca("Real Test Root");
    leaf_ = test::make_leaf(ca_, "www.example.test", {"www.example.test"});
    ca_file_ = ca_.write(dir_, "ca");
    certs::CertConfig cc;
    cc.ephemeral = true;
    cc.crl_host = "crl.wirebump.test";
    auto certs = certs::CertService::open(cc);
    ASSERT_TRUE(certs.ok());
    certs_ = std::move(*certs);
    ASSERT_TRUE(certs_->wait_ready(30s));
    InterceptOptions options;
    options.trust_store = ca_file_;
    // Deterministic: every inspector change after the first is held back until a timer.
    options.inspection_publish_every = 1h;
    auto svc = InterceptService::create(options, policy_, *certs_);
    ASSERT_TRUE(svc.ok()) << svc.error().message();
    svc_ = std::move(*svc);
    info_.session_id = 1;
    info_.client = *session::Endpoint::parse("192.0.2.1:40000");
    info_.original_destination = *session::Endpoint::parse("192.0.2.2:443");
    io_ = std::make_unique<FakeIo>(info_);
    handler_ = std::make_unique<InterceptHandler>(*svc_, info_);
    handler_->on_start(*io_);

    // The real client: trusts the bridge's issuer.
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx_.get()),
                        certs_->issuer(certs::IssuerRole::trusted).cert());
    SSL_CTX_set_verify(client_ctx_.get(), SSL_VERIFY_PEER, nullptr);
    // The real server.
    server_ctx_ = make_client_leg_ctx({}).value();
    make_peers({"h2", "http/1.1"}, "h2");
  }

  // A fresh client (offering `alpn`) and server (choosing `server_alpn`).
  void make_peers(const std::vector<std::string>& alpn, const std::string& server_alpn) {
    client_ = TlsEndpoint::create(client_ctx_.get(), Role::kClient).value();
    SSL_set_tlsext_host_name(client_->ssl(), "www.example.test");
    const auto wire = alpn_wire(alpn);
    SSL_set_alpn_protos(client_->ssl(), wire.data(), static_cast<unsigned>(wire.size()));
    server_ = TlsEndpoint::create(server_ctx_.get(), Role::kServer).value();
    ASSERT_TRUE(configure_client_leg(*server_,
                                     {leaf_.cert.get(), leaf_.key.get(), nullptr, server_alpn, {}})
                    .ok());
  }
  // The same client again, on a new connection (new peers, relay double and handler).
  void new_connection(const std::vector<std::string>& alpn, const std::string& server_alpn) {
    handler_.reset();
    io_ = std::make_unique<FakeIo>(info_);
    handler_ = std::make_unique<InterceptHandler>(*svc_, info_);
    handler_->on_start(*io_);
    make_peers(alpn, server_alpn);
  }
  void TearDown() override {
    handler_.reset();
    svc_.reset();
    certs_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<void> hold_cert_worker() { return test::hold_cert_worker(*certs_, ca_); }

  // Moves bytes between the real peers and the handler until nothing moves (waiting up to
  // `forge_wait` for a certificate being forged on the worker).
  void pump(std::chrono::milliseconds forge_wait = 10s) {
    for (int i = 0; i < 50; ++i) {
      bool moved = false;
      if (!client_->handshake_done()) client_->handshake();
      if (auto o = client_->output(); !o.empty()) {
        std::vector<std::uint8_t> copy(o.begin(), o.end());
        client_->consume_output();
        handler_->on_data(*io_, Side::kClient, copy);
        moved = true;
      }
      if (io_->connect_requested && !io_->connected && !io_->closed) {
        io_->connected = true;
        handler_->on_upstream_connected(*io_);
        moved = true;
      }
      if (auto to_server = io_->take(Side::kServer); !to_server.empty()) {
        server_->feed(to_server);
        if (!server_->handshake_done()) server_->handshake();
        moved = true;
      }
      if (auto o = server_->output(); !o.empty()) {
        std::vector<std::uint8_t> copy(o.begin(), o.end());
        server_->consume_output();
        handler_->on_data(*io_, Side::kServer, copy);
        moved = true;
      }
      if (auto to_client = io_->take(Side::kClient); !to_client.empty()) {
        client_->feed(to_client);
        moved = true;
      }
      // A certificate forged on the certificate worker comes back as a wake.
      if (!moved && svc_->stats().forge_queued > wakes_) {
        moved = io_->deliver_wakes(*handler_, forge_wait);
        if (moved) ++wakes_;
      }
      if (!moved) return;
    }
  }
  // The client's hello reaches the handler and the upstream connects: the handler's own hello
  // is now queued towards the server. Returns the client's hello.
  std::vector<std::uint8_t> hello_and_connect() {
    client_->handshake();
    std::vector<std::uint8_t> hello(client_->output().begin(), client_->output().end());
    client_->consume_output();
    handler_->on_data(*io_, Side::kClient, hello);
    io_->connected = true;
    handler_->on_upstream_connected(*io_);
    return hello;
  }
  std::string read_all(TlsEndpoint& ep) {
    std::vector<std::uint8_t> got;
    while (ep.read(got) == Progress::kDone) {
    }
    return std::string(got.begin(), got.end());
  }

  std::string dir_;
  test::CertAndKey ca_, leaf_;
  std::string ca_file_;
  std::unique_ptr<certs::CertService> certs_;
  policy::Policy policy_;
  std::unique_ptr<InterceptService> svc_;
  relay::ConnectionInfo info_;
  std::unique_ptr<FakeIo> io_;
  std::unique_ptr<InterceptHandler> handler_;
  SslCtxPtr client_ctx_, server_ctx_;
  std::unique_ptr<TlsEndpoint> client_, server_;
  std::uint64_t wakes_ = 0;
};

TEST_F(HandlerTest, InterceptsAndHandsHttp2ToTheHttpsInspector) {
  pump();
  ASSERT_TRUE(client_->handshake_done()) << client_->failure().reason;
  ASSERT_TRUE(server_->handshake_done()) << server_->failure().reason;
  EXPECT_EQ(client_->alpn(), "h2");  // what the real server chose, offered back
  EXPECT_EQ(SSL_get_verify_result(client_->ssl()), X509_V_OK);
  EXPECT_EQ(io_->sni, "www.example.test");
  EXPECT_EQ(io_->verdict, session::Verdict::kIntercept);

  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  ASSERT_TRUE(client_->write(bytes_of(preface)).ok());
  pump();
  EXPECT_EQ(io_->protocol, session::Protocol::kHttps);
  EXPECT_EQ(read_all(*server_), preface);

  ASSERT_TRUE(server_->write(bytes_of(std::string("\0\0\0\4\0\0\0\0\0", 9))).ok());
  pump();
  EXPECT_EQ(read_all(*client_).size(), 9u);
  EXPECT_FALSE(io_->closed);
  // Quiet for a second: the handler's phase timer releases the TLS buffers, nothing else.
  EXPECT_EQ(io_->first_bytes_timeout, 1000ms);
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_FALSE(io_->closed);
  ASSERT_TRUE(client_->write(bytes_of(preface)).ok());
  pump();
  EXPECT_EQ(read_all(*server_), preface);  // still relaying after the release
}

// A client that comes back (same server, SNI, ALPN list): answered from the hint its first
// connection left, before the upstream is even connected; what it then sends is held (reading
// paused beyond what detection could use) until the upstream has verified, then forwarded.
TEST_F(HandlerTest, SpeculativeClientLegRunsBeforeTheUpstreamAndHoldsTheClientsBytes) {
  new_connection({"http/1.1"}, "http/1.1");
  pump();
  ASSERT_TRUE(client_->handshake_done()) << client_->failure().reason;
  EXPECT_EQ(svc_->stats().speculative, 0u);

  new_connection({"http/1.1"}, "http/1.1");
  client_->handshake();
  std::vector<std::uint8_t> hello(client_->output().begin(), client_->output().end());
  client_->consume_output();
  handler_->on_data(*io_, Side::kClient, hello);
  EXPECT_EQ(svc_->stats().speculative, 1u);
  ASSERT_TRUE(io_->connect_requested);
  ASSERT_FALSE(io_->connected);
  const auto flight = io_->take(Side::kClient);  // ServerHello .. Finished, at once
  ASSERT_FALSE(flight.empty());
  const auto upstream_hello = io_->take(Side::kServer);  // queued for when the connect completes
  ASSERT_FALSE(upstream_hello.empty());
  client_->feed(flight);
  ASSERT_EQ(client_->handshake(), Progress::kDone) << client_->failure().reason;
  EXPECT_EQ(client_->alpn(), "http/1.1");
  EXPECT_EQ(SSL_get_verify_result(client_->ssl()), X509_V_OK);

  const std::string body(100 * 1024, 'x');  // more than detection holds (max_peek_bytes)
  const std::string request =
      "POST /upload HTTP/1.1\r\nHost: www.example.test\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_TRUE(client_->write(bytes_of(request)).ok());
  std::vector<std::uint8_t> records(client_->output().begin(), client_->output().end());
  client_->consume_output();
  handler_->on_data(*io_, Side::kClient, records);
  EXPECT_TRUE(io_->paused[static_cast<int>(Side::kClient)]);
  EXPECT_TRUE(io_->take(Side::kServer).empty());  // not a byte before the upstream verified
  EXPECT_FALSE(io_->closed);

  // The upstream connects and completes its handshake: the held request goes to the server.
  io_->connected = true;
  handler_->on_upstream_connected(*io_);
  server_->feed(upstream_hello);
  server_->handshake();
  pump();
  EXPECT_FALSE(io_->paused[static_cast<int>(Side::kClient)]);
  EXPECT_EQ(read_all(*server_), request);
  EXPECT_EQ(svc_->stats().speculative_aborted, 0u);
  EXPECT_EQ(io_->verdict, session::Verdict::kIntercept);
  EXPECT_NE(io_->reason.find("speculative handshake"), std::string::npos) << io_->reason;
}

// The session table gets the inspector's state at most every inspection_publish_every while bytes
// flow (rebuilding it per record was 6 % of a download's CPU; 1 h in this fixture), the first
// time too (a connection shorter than that never builds it), and what was held back once the
// session is quiet.
TEST_F(HandlerTest, InspectorStateIsPublishedRateLimitedAndWhenQuiet) {
  pump();
  ASSERT_TRUE(client_->handshake_done());
  ASSERT_TRUE(client_->write(bytes_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")).ok());
  pump();
  ASSERT_EQ(io_->protocol, session::Protocol::kHttps);
  EXPECT_EQ(io_->brief, "");  // held back like every later change
  // Two SETTINGS frames from the server right after: held back too...
  ASSERT_TRUE(server_->write(bytes_of(std::string("\0\0\0\4\0\0\0\0\0", 9))).ok());
  pump();
  ASSERT_TRUE(server_->write(bytes_of(std::string("\0\0\0\4\0\0\0\0\0", 9))).ok());
  pump();
  EXPECT_EQ(read_all(*client_).size(), 18u);  // (the bytes themselves are never held)
  EXPECT_EQ(io_->brief, "");
  // ...and published when the session turns quiet.
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_EQ(io_->brief.rfind("h2 ", 0), 0u) << io_->brief;
  EXPECT_NE(io_->brief.find("frames=2"), std::string::npos) << io_->brief;
}

// Plaintext SIP (no TLS, no quiet timer of its own): a held-back change arms a timer.
TEST_F(HandlerTest, PlaintextInspectorChangeHeldBackArmsItsOwnTimer) {
  const std::string options = "OPTIONS sip:bob@example.test SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  io_->first_bytes_timeout = 0ms;
  handler_->on_data(*io_, Side::kClient, bytes_of(options));
  ASSERT_EQ(io_->protocol, session::Protocol::kSip);
  EXPECT_EQ(io_->brief, "");                 // the first state waits like every change...
  EXPECT_GT(io_->first_bytes_timeout, 0ms);  // ...for the timer it armed
  EXPECT_LE(io_->first_bytes_timeout, 1h);
  handler_->on_data(*io_, Side::kServer, bytes_of("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(io_->brief, "");
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_NE(io_->brief.find("OPTIONS"), std::string::npos) << io_->brief;
  EXPECT_FALSE(io_->closed);
}

TEST_F(HandlerTest, ServerFirstUnknownBannerIsDeniedAfterTheTimeout) {
  pump();
  ASSERT_TRUE(client_->handshake_done());
  ASSERT_TRUE(server_->write(bytes_of("* OK custom banner ready\r\n")).ok());
  pump();
  // Held until the client had its chance to speak first.
  EXPECT_EQ(read_all(*client_), "");
  EXPECT_FALSE(io_->closed);
  EXPECT_EQ(io_->first_bytes_timeout, svc_->options().server_first_timeout);
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_TRUE(io_->closed);
  EXPECT_EQ(io_->verdict, session::Verdict::kDeny);
  EXPECT_EQ(io_->reason, "undetected protocol inside TLS");
  pump();
  EXPECT_EQ(read_all(*client_), "");  // the banner never reached the client
  EXPECT_EQ(policy_.counters().undetected_denied, 1u);
}

TEST_F(HandlerTest, ServerFirstSipIsSips) {
  pump();
  ASSERT_TRUE(
      server_
          ->write(bytes_of("OPTIONS sip:alice@example.test SIP/2.0\r\nContent-Length: 0\r\n\r\n"))
          .ok());
  pump();
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  pump();
  EXPECT_EQ(io_->protocol, session::Protocol::kSips);
  EXPECT_EQ(read_all(*client_).rfind("OPTIONS sip:", 0), 0u);
}

TEST_F(HandlerTest, UpstreamHandshakeFailureReplaysTheClientBytesExactly) {
  // The client's hello, captured before the handler sees it.
  client_->handshake();
  const auto hello_view = client_->output();
  const std::vector<std::uint8_t> hello(hello_view.begin(), hello_view.end());
  client_->consume_output();
  handler_->on_data(*io_, Side::kClient, hello);
  EXPECT_TRUE(io_->connect_requested);
  EXPECT_TRUE(io_->paused[0]);  // the client waits while the upstream leg runs
  io_->connected = true;
  handler_->on_upstream_connected(*io_);
  EXPECT_FALSE(io_->take(Side::kServer).empty());  // our own ClientHello went upstream
  // Not a TLS server at all.
  handler_->on_data(*io_, Side::kServer, bytes_of("HTTP/1.1 400 Bad Request\r\n\r\n"));
  EXPECT_EQ(io_->reconnects, 1);
  EXPECT_EQ(io_->take(Side::kServer), hello);     // the fresh upstream gets the client's own bytes
  EXPECT_TRUE(io_->take(Side::kClient).empty());  // the client never noticed
  EXPECT_FALSE(io_->paused[0]);
  EXPECT_EQ(io_->verdict, session::Verdict::kTunnel);
  EXPECT_EQ(io_->protocol, session::Protocol::kTunnel);
  EXPECT_EQ(io_->reason.rfind("tunnel on error: ", 0), 0u) << io_->reason;
  // Relayed untouched from now on.
  handler_->on_data(*io_, Side::kServer, bytes_of("raw"));
  EXPECT_EQ(io_->take(Side::kClient), std::vector<std::uint8_t>({'r', 'a', 'w'}));
  auto learned = policy_.learned().list(policy::Clock::now());
  ASSERT_EQ(learned.size(), 1u);
  EXPECT_EQ(learned[0].reason, policy::LearnReason::kUpstreamHandshakeFailed);
  EXPECT_EQ(learned[0].key.destination.to_string(), "192.0.2.2:443");
}

// The session's close reason (what the end-of-session line logs) keeps why it was tunnelled,
// whichever side ends it and however.
TEST_F(HandlerTest, TunnelledSessionClosesWithItsTunnelReason) {
  hello_and_connect();
  // A TLS alert (handshake_failure, fatal) from the server.
  const std::uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
  handler_->on_data(*io_, Side::kServer, alert);
  ASSERT_EQ(io_->reconnects, 1);
  EXPECT_EQ(io_->reason,
            "tunnel on error: upstream handshake failed: alert handshake_failure received");
  handler_->on_eof(*io_, Side::kServer);
  EXPECT_FALSE(io_->closed);  // half-closed: the client may still send
  EXPECT_TRUE(io_->fin[0]);
  handler_->on_eof(*io_, Side::kClient);
  ASSERT_TRUE(io_->closed);
  EXPECT_EQ(io_->close_mode, relay::CloseMode::kGraceful);
  EXPECT_EQ(io_->close_reason,
            "tunnel on error: upstream handshake failed: alert handshake_failure received; "
            "server closed");
}

TEST_F(HandlerTest, PolicyTunnelResetAndIdleKeepTheReason) {
  const auto id =
      policy_.add_rule(policy::Match{.sni = *policy::SniPattern::parse("www.example.test")},
                       policy::Action::kTunnel);
  ASSERT_TRUE(id.ok());
  const std::string why = "policy tunnel: rule " + std::to_string(*id) + " (sni=www.example.test)";
  for (const bool idle : {false, true}) {
    FakeIo io(info_);
    InterceptHandler h(*svc_, info_);
    h.on_start(io);
    auto client = TlsEndpoint::create(client_ctx_.get(), Role::kClient).value();
    SSL_set_tlsext_host_name(client->ssl(), "www.example.test");
    client->handshake();
    std::vector<std::uint8_t> hello(client->output().begin(), client->output().end());
    h.on_data(io, Side::kClient, hello);
    EXPECT_EQ(io.verdict, session::Verdict::kTunnel);
    EXPECT_EQ(io.reason, why);
    EXPECT_EQ(io.out[1], hello);  // replayed untouched
    EXPECT_TRUE(io.untouched);    // and the relay may splice the rest
    if (idle) {
      h.on_timeout(io, relay::TimeoutKind::kIdle);
      EXPECT_EQ(io.close_reason, why + "; idle timeout");
    } else {
      h.on_error(io, Side::kClient, make_error(std::errc::connection_reset, "recv"));
      EXPECT_EQ(io.close_reason, why + "; client error: recv: " +
                                     std::make_error_code(std::errc::connection_reset).message());
    }
    EXPECT_EQ(io.close_mode, relay::CloseMode::kReset);
  }
}

// A certificate cache miss never runs on the loop: the session waits in kForging (the client has
// seen nothing) while the worker forges; if that takes longer than the handshake timeout, the
// client still gets the real server (tunnel on error), and the late certificate is ignored.
TEST_F(HandlerTest, SlowForgeWaitsOffTheLoopThenTunnels) {
  auto hold = hold_cert_worker();
  const auto hello = hello_and_connect();
  pump(0ms);
  ASSERT_TRUE(server_->handshake_done()) << server_->failure().reason;
  EXPECT_EQ(svc_->stats().forge_queued, 1u);
  EXPECT_EQ(svc_->stats().forged, 0u);
  EXPECT_TRUE(io_->take(Side::kClient).empty());  // no ServerHello before the certificate
  EXPECT_TRUE(io_->paused[0]);
  EXPECT_FALSE(io_->closed);
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_EQ(io_->reconnects, 1);
  EXPECT_EQ(io_->take(Side::kServer), hello);  // replayed to a fresh upstream
  EXPECT_EQ(io_->verdict, session::Verdict::kTunnel);
  EXPECT_EQ(io_->reason, "tunnel on error: certificate not forged in time");
  hold.reset();  // the certificate arrives after all
  EXPECT_TRUE(io_->deliver_wakes(*handler_, 10s));
  EXPECT_TRUE(io_->take(Side::kClient).empty());  // ignored: the session is a tunnel now
  EXPECT_EQ(svc_->stats().forged, 0u);
  handler_->on_data(*io_, Side::kServer, bytes_of("raw"));
  EXPECT_EQ(io_->take(Side::kClient), std::vector<std::uint8_t>({'r', 'a', 'w'}));
}

// The connection goes while its certificate is forged: the worker's result lands in the shared
// slot, the post is for nobody, nothing dangles (ASan build).
TEST_F(HandlerTest, HandlerGoneWhileForgingIsSafe) {
  auto hold = hold_cert_worker();
  hello_and_connect();
  pump(0ms);
  ASSERT_EQ(svc_->stats().forge_queued, 1u);
  handler_.reset();
  hold.reset();
  // The worker still delivers (the relay would drop it: the connection is gone).
  EXPECT_EQ(io_->take_wakes(10s).size(), 1u);
}

// The pinning signature (curl --pinnedpubkey on the wire): handshake, close_notify, FIN, no
// data, ALPN offered. Learned: the next connection is tunnelled.
TEST_F(HandlerTest, PinningClientClosingRightAfterTheHandshakeIsLearned) {
  pump();
  ASSERT_TRUE(client_->handshake_done());
  client_->shutdown();  // close_notify, as curl sends it
  pump();
  handler_->on_eof(*io_, Side::kClient);
  ASSERT_TRUE(io_->closed);
  EXPECT_NE(io_->close_reason.find("(pinning)"), std::string::npos) << io_->close_reason;
  auto learned = policy_.learned().list(policy::Clock::now());
  ASSERT_EQ(learned.size(), 1u);
  EXPECT_EQ(learned[0].reason, policy::LearnReason::kClientClosedAfterHandshake);
  EXPECT_EQ(svc_->stats().client_rejected, 1u);
}

// A TLS health check (`openssl s_client </dev/null`, haproxy check-ssl) does the same without
// ALPN: not learned, counted, and the close reason says why.
TEST_F(HandlerTest, HealthCheckWithoutAlpnIsNotLearned) {
  client_ = TlsEndpoint::create(client_ctx_.get(), Role::kClient).value();
  SSL_set_tlsext_host_name(client_->ssl(), "www.example.test");
  pump();
  ASSERT_TRUE(client_->handshake_done()) << client_->failure().reason;
  client_->shutdown();
  pump();
  handler_->on_eof(*io_, Side::kClient);
  ASSERT_TRUE(io_->closed);
  EXPECT_EQ(io_->close_mode, relay::CloseMode::kGraceful);
  EXPECT_NE(io_->close_reason.find("not learned: no ALPN offered"), std::string::npos)
      << io_->close_reason;
  EXPECT_EQ(policy_.learned().size(), 0u);
  EXPECT_EQ(svc_->stats().closed_without_data, 1u);
  EXPECT_EQ(svc_->stats().client_rejected, 0u);
}

TEST_F(HandlerTest, TunnelOnErrorOffResetsInstead) {
  policy_.set_tunnel_on_error(false);
  hello_and_connect();
  handler_->on_data(*io_, Side::kServer, bytes_of("HTTP/1.1 400 Bad Request\r\n\r\n"));
  EXPECT_EQ(io_->reconnects, 0);
  EXPECT_TRUE(io_->closed);
  EXPECT_EQ(io_->close_mode, relay::CloseMode::kReset);
  EXPECT_EQ(policy_.learned().size(), 0u);
}

TEST_F(HandlerTest, SilentClientIsRelayedForServerFirstProtocols) {
  handler_->on_timeout(*io_, relay::TimeoutKind::kFirstBytes);
  EXPECT_TRUE(io_->connect_requested);
  EXPECT_EQ(io_->verdict, session::Verdict::kTunnel);
  EXPECT_EQ(io_->protocol, session::Protocol::kUnknown);
  EXPECT_NE(io_->reason.find("client silent"), std::string::npos) << io_->reason;
  EXPECT_TRUE(io_->untouched);
  handler_->on_data(*io_, Side::kServer, bytes_of("220 smtp ready\r\n"));
  EXPECT_EQ(io_->take(Side::kClient).size(), 16u);
}

// Plaintext SIP goes through its inspector: the relay must keep handing the bytes over.
TEST_F(HandlerTest, InspectedPlaintextIsNotLeftToTheRelay) {
  handler_->on_data(*io_, Side::kClient,
                    bytes_of("OPTIONS sip:bob@example.test SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(io_->protocol, session::Protocol::kSip);
  EXPECT_EQ(io_->verdict, session::Verdict::kRelay);
  EXPECT_FALSE(io_->untouched);
  EXPECT_FALSE(io_->take(Side::kServer).empty());  // forwarded by the handler
}

TEST_F(HandlerTest, TruncatedHelloAtEveryLengthNeverForwardsAndNeverCrashes) {
  client_->handshake();
  const std::vector<std::uint8_t> hello(client_->output().begin(), client_->output().end());
  for (std::size_t n = 1; n < hello.size(); ++n) {
    FakeIo io(info_);
    InterceptHandler h(*svc_, info_);
    h.on_start(io);
    h.on_data(io, Side::kClient, std::span<const std::uint8_t>(hello).first(n));
    EXPECT_FALSE(io.connect_requested) << n;  // still peeking: nothing decided, nothing sent
    EXPECT_TRUE(io.out[1].empty()) << n;
    h.on_eof(io, Side::kClient);  // the client gives up mid-hello: relayed per plaintext policy
    EXPECT_TRUE(io.closed || io.fin[1]) << n;
  }
}

}  // namespace
}  // namespace wb::intercept
