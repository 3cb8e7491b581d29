// The daemon's interception control handlers and status fields, dispatched without a socket or a
// bridge: an ephemeral CertService, the policy and InterceptService built from a Config as the
// agent builds them. Errors must be clear (code + a sentence naming what was wrong).
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/control/protocol.h"
#include "agent/daemon/cert_wiring.h"
#include "agent/daemon/interception_wiring.h"
#include "tests/intercept/test_pki.h"

namespace wb::daemon {
namespace {

using nlohmann::json;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class InterceptionHandlers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("icpt-handlers");
    cfg_.state_dir = dir_ + "/state";
    cfg_.trust_store = test::make_ca("Handlers Test Root").write(dir_, "ca");
    certs::CertConfig cc;
    cc.state_dir = cfg_.state_dir;
    cc.ephemeral = true;
    cc.crl_host = "crl.wirebump.test";
    auto certs = certs::CertService::open(cc);
    ASSERT_TRUE(certs.ok()) << certs.error().message();
    certs_ = std::move(*certs);
  }
  void TearDown() override {
    interception_.reset();
    certs_.reset();
    std::filesystem::remove_all(dir_);
  }
  void wire(bool with_interception) {
    if (with_interception) {
      auto icpt = start_interception(cfg_, *certs_);
      ASSERT_TRUE(icpt.ok()) << icpt.error().message();
      interception_ = std::move(*icpt);
    }
    register_interception_handlers(server_, cfg_, interception_.get(), *certs_);
  }
  control::Response call(const std::string& cmd, json args = json::object()) {
    return server_.dispatch(control::Request{cmd, std::move(args)});
  }

  std::string dir_;
  config::Config cfg_;
  std::unique_ptr<certs::CertService> certs_;
  std::unique_ptr<Interception> interception_;
  // Never started: dispatch() runs the handlers directly.
  control::ControlServer server_{control::ServerOptions{"/nonexistent/wb-handlers-test.sock"}};
};

TEST_F(InterceptionHandlers, PolicyDetectTunnelsRoundTrip) {
  wire(true);
  auto added = call("policy.add", {{"sni", "*.bank.test"}, {"action", "tunnel"}});
  ASSERT_TRUE(added.ok) << added.error;
  auto list = call("policy.list");
  ASSERT_TRUE(list.ok);
  ASSERT_EQ(list.result["rules"].size(), 1u);
  EXPECT_EQ(list.result["rules"][0].value("sni", ""), "*.bank.test");
  auto bad = call("policy.add", {{"sni", "x.test"}, {"action", "explode"}});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.code, control::code::kInvalidArgument);
  EXPECT_TRUE(contains(bad.error, "explode")) << bad.error;
  auto detect = call("detect.set", {{"protocol", "sips"}, {"enabled", false}});
  ASSERT_TRUE(detect.ok) << detect.error;
  EXPECT_FALSE(detect.result["detect"].value("sips", true));
  EXPECT_TRUE(call("tunnels.list").ok);
  EXPECT_EQ(call("policy.del", {{"id", 99}}).code, control::code::kNotFound);

  json status = json::object();
  add_interception_status(status, interception_.get(), *certs_);
  EXPECT_FALSE(status["detect"].value("sips", true));
  EXPECT_TRUE(status["interception"].contains("intercepted")) << status.dump();
  EXPECT_TRUE(status["interception"]["policy"].contains("undetected_denied")) << status.dump();
  EXPECT_EQ(status["certs"].value("crl_host", ""), "crl.wirebump.test");
  EXPECT_TRUE(status["certs"]["cache"].contains("capacity"));
}

TEST_F(InterceptionHandlers, PolicyCommandsWithoutInterceptionAreUnsupported) {
  wire(false);
  auto r = call("policy.list");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, control::code::kUnsupported);
  EXPECT_TRUE(contains(r.error, "interception")) << r.error;
  // The certificate commands still work: the CertService runs either way.
  EXPECT_TRUE(call("ca.show").ok);
  json status = json::object();
  add_interception_status(status, nullptr, *certs_);
  EXPECT_TRUE(status.contains("certs"));
  EXPECT_FALSE(status.contains("interception"));
}

TEST_F(InterceptionHandlers, CertificateCommands) {
  wire(true);
  auto ca = call("ca.show");
  ASSERT_TRUE(ca.ok);
  ASSERT_EQ(ca.result["issuers"].size(), 2u);
  EXPECT_EQ(ca.result["issuers"][0].value("role", ""), "trusted");
  EXPECT_TRUE(contains(ca.result["issuers"][0].value("der_url", ""),
                       "http://crl.wirebump.test/wirebump/ca/"));

  auto crl1 = call("crl.regenerate");
  auto crl2 = call("crl.regenerate");
  ASSERT_TRUE(crl1.ok && crl2.ok) << crl1.error << crl2.error;
  EXPECT_GT(crl2.result["crls"][0].value("crl_number", 0),
            crl1.result["crls"][0].value("crl_number", 0));
  EXPECT_GT(crl2.result["crls"][1].value("next_update", 0),
            crl2.result["crls"][1].value("this_update", 0));

  auto unknown = call("cert.revoke", {{"serial", "0BADC0FFEE"}});
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.code, control::code::kNotFound);
  EXPECT_TRUE(contains(unknown.error, "0BADC0FFEE")) << unknown.error;
  EXPECT_EQ(call("cert.revoke").code, control::code::kInvalidArgument);

  auto relative = call("ca.import", {{"cert", "ca.crt"}, {"key", "/x.key"}});
  EXPECT_EQ(relative.code, control::code::kInvalidArgument);
  EXPECT_TRUE(contains(relative.error, "absolute")) << relative.error;
  auto missing = call("ca.import", {{"cert", dir_ + "/none.crt"}, {"key", dir_ + "/none.key"}});
  EXPECT_EQ(missing.code, control::code::kInvalidArgument);
  EXPECT_TRUE(contains(missing.error, "none.crt")) << missing.error;
}

TEST(CrlHostDefault, ConfigValueElseBridgeIpv4ElseClearError) {
  config::Config cfg;
  cfg.crl_host = "crl.example.test";
  EXPECT_EQ(*effective_crl_host(cfg, "lo"), "crl.example.test");
  cfg.crl_host.clear();
  auto lo = effective_crl_host(cfg, "lo");
  ASSERT_TRUE(lo.ok()) << lo.error().message();
  EXPECT_EQ(*lo, "127.0.0.1");
  auto none = effective_crl_host(cfg, "wb-no-such-if");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().message(), "crl_host")) << none.error().message();
}

}  // namespace
}  // namespace wb::daemon
