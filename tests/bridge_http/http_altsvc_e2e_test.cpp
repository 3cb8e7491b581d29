// Alt-Svc h3 removal through the running agent (`wirebump run`, interception on): a real nginx
// (HTTP/2 and HTTP/1.1 over TLS) in the server namespace sends `Alt-Svc: h3=":443"; ma=86400,
// h2=":443"`, curl in the client namespace trusts only the wirebump issuer. With block_quic on,
// curl sees `alt-svc: h2=":443"` over HTTP/2 (HPACK decoded and re-encoded by the bridge) and
// HTTP/1.1, no Alt-Svc at all where nginx advertised only h3, and every other header and every
// body byte intact, over several requests on one connection. With block_quic off, nothing is
// changed.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <strings.h>

#include <fstream>
#include <memory>
#include <string>

#include "tests/agent/agent_fixture.h"
#include "tests/peers/peer_env.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kHost = "www.example.test";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Lines of curl's header dump (-D) that start with `name:` (case-insensitive, as HTTP/2 names
// are lowercase and HTTP/1.1 ones are not).
std::vector<std::string> header_lines(const std::string& dump, const std::string& name) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < dump.size()) {
    std::size_t end = dump.find('\n', pos);
    if (end == std::string::npos) end = dump.size();
    std::string line = dump.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      lines.push_back(line.substr(name.size() + 1));
    }
  }
  return lines;
}

class AltSvcThroughTheBridge : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    agent_ = std::make_unique<AgentFixture>();
    Topology& topo = agent_->topo();
    ASSERT_TRUE(topo.ok()) << topo.error();
    ASSERT_TRUE(make_certs(topo, kHost));
    d_ = topo.dir();
    // A 2 MB body, and a slow copy of it that keeps the session alive while the test asks the
    // agent about it.
    ASSERT_EQ(run("mkdir -p " + d_ + "/www " + d_ + "/tmp && head -c 2000000 /dev/urandom > " + d_ +
                  "/www/big.bin && echo 'hello through the bridge' > " + d_ + "/www/hello.txt")
                  .exit_code,
              0);
    std::ofstream(d_ + "/nginx.conf")
        << "user root;\nworker_processes 1;\npid " << d_ << "/nginx.pid;\nerror_log " << d_
        << "/nginx-error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log " << d_
        << "/access.log;\n  client_body_temp_path " << d_ << "/tmp/b;\n  proxy_temp_path " << d_
        << "/tmp/p;\n  fastcgi_temp_path " << d_ << "/tmp/f;\n  uwsgi_temp_path " << d_
        << "/tmp/u;\n  scgi_temp_path " << d_ << "/tmp/s;\n  keepalive_timeout 10;\n"
        << "  server {\n    listen 192.0.2.2:443 ssl http2;\n    ssl_certificate " << d_
        << "/server.pem;\n    ssl_certificate_key " << d_ << "/server.key;\n    root " << d_
        << "/www;\n    add_header Alt-Svc 'h3=\":443\"; ma=86400, h2=\":443\"' always;\n"
        << "    add_header X-Wirebump-Test 'kept as it was' always;\n"
        << "    location /only-h3/ { alias " << d_
        << "/www/; add_header Alt-Svc 'h3-29=\":443\", h3=\":443\"' always;\n"
        << "      add_header X-Wirebump-Test 'kept as it was' always; }\n"
        << "    location /slow/ { alias " << d_ << "/www/; limit_rate 250k; }\n  }\n}\n";
    topo.spawn(topo.server(), "exec nginx -c " + d_ + "/nginx.conf -g 'daemon off;'", "nginx");
    ASSERT_TRUE(eventually([&] { return listening(topo, topo.server(), 443); }, 10s))
        << read_file(d_ + "/nginx-error.log");
    {
      std::ofstream config(agent_->config_path(), std::ios::app);
      config << "trust_store = \"" << d_
             << "/ca.pem\"\nintercept = true\nblock_quic = " << (GetParam() ? "true" : "false")
             << "\n";
    }
    ASSERT_EQ(agent_->start_agent(), "");
    auto shown = agent_->cli("ca show --json");
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    auto issuers = json::parse(shown.out, nullptr, false);
    ASSERT_TRUE(issuers.is_object()) << shown.out;
    issuer_ = issuers["issuers"][0].value("cert_path", "");
    ASSERT_FALSE(issuer_.empty()) << shown.out;
  }

  // curl in the client namespace, trusting only the wirebump issuer; headers to `tag`.headers,
  // bodies to `tag`.N.
  CommandResult curl(const std::string& tag, const std::string& args,
                     const std::vector<std::string>& paths) {
    std::string command = "curl -sS --max-time 60 " + args + " --cacert " + issuer_ +
                          " --resolve " + kHost + ":443:192.0.2.2 -D " + d_ + "/" + tag +
                          ".headers";
    for (std::size_t i = 0; i < paths.size(); ++i) {
      command += " -o " + d_ + "/" + tag + "." + std::to_string(i) + " https://" + kHost + paths[i];
    }
    return agent_->client(command, 90s);
  }

  std::string body(const std::string& tag, int index) const {
    return read_file(d_ + "/" + tag + "." + std::to_string(index));
  }

  // The HTTPS sessions the agent shows.
  json https_sessions() const {
    auto r = agent_->cli("sessions --protocol https --json", 10s);
    auto parsed = json::parse(r.out, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("sessions")) return json::array();
    return parsed["sessions"];
  }

  std::unique_ptr<AgentFixture> agent_;
  std::string d_;
  std::string issuer_;
};

TEST_P(AltSvcThroughTheBridge, Http2AndHttp1Responses) {
  const bool block = GetParam();
  const std::string big = read_file(d_ + "/www/big.bin");
  ASSERT_EQ(big.size(), 2000000u);

  // HTTP/2: three requests on one connection (the second and third header blocks depend on the
  // HPACK state the first one left in the client's decoder).
  auto h2 = curl("h2", "--http2", {"/hello.txt", "/only-h3/hello.txt", "/big.bin"});
  ASSERT_EQ(h2.exit_code, 0) << h2.err << "\nagent:\n" << agent_->agent()->log();
  std::string headers = read_file(d_ + "/h2.headers");
  SCOPED_TRACE(headers);
  EXPECT_NE(headers.find("HTTP/2 200"), std::string::npos) << "not HTTP/2 through the bridge";
  EXPECT_EQ(body("h2", 0), "hello through the bridge\n");
  EXPECT_EQ(body("h2", 1), "hello through the bridge\n");
  EXPECT_TRUE(body("h2", 2) == big) << "the 2 MB body changed";
  auto alt_svc = header_lines(headers, "alt-svc");
  auto kept = header_lines(headers, "x-wirebump-test");
  EXPECT_EQ(kept, std::vector<std::string>(3, " kept as it was"));
  EXPECT_EQ(header_lines(headers, "content-length").size(), 3u);
  if (block) {
    // /hello.txt and /big.bin: h3 removed, h2 kept; /only-h3/: the field is gone.
    EXPECT_EQ(alt_svc, std::vector<std::string>(2, " h2=\":443\""));
    EXPECT_FALSE(contains(headers, "h3")) << "h3 still advertised";
  } else {
    EXPECT_EQ(alt_svc, (std::vector<std::string>{" h3=\":443\"; ma=86400, h2=\":443\"",
                                                 " h3-29=\":443\", h3=\":443\"",
                                                 " h3=\":443\"; ma=86400, h2=\":443\""}));
  }

  // HTTP/1.1 through the same bridge.
  auto h1 = curl("h1", "--http1.1", {"/hello.txt", "/only-h3/hello.txt"});
  ASSERT_EQ(h1.exit_code, 0) << h1.err;
  std::string h1_headers = read_file(d_ + "/h1.headers");
  EXPECT_NE(h1_headers.find("HTTP/1.1 200"), std::string::npos) << h1_headers;
  EXPECT_EQ(body("h1", 0), "hello through the bridge\n");
  if (block) {
    EXPECT_EQ(header_lines(h1_headers, "alt-svc"), std::vector<std::string>{" h2=\":443\""})
        << h1_headers;
  } else {
    EXPECT_EQ(header_lines(h1_headers, "alt-svc").size(), 2u) << h1_headers;
    EXPECT_TRUE(contains(h1_headers, "h3=\":443\"")) << h1_headers;
  }

  // A slow HTTP/2 download keeps the session alive: the agent shows it as https over h2 with
  // the header blocks it rewrote (or none without QUIC blocking).
  Process& slow = agent_->topo().spawn(
      agent_->topo().client(),
      "exec curl -sS --max-time 60 --http2 --cacert " + issuer_ + " --resolve " + kHost +
          ":443:192.0.2.2 -D " + d_ + "/slow.headers -o " + d_ + "/slow.0 https://" + kHost +
          "/hello.txt -o " + d_ + "/slow.1 https://" + kHost + "/slow/big.bin",
      "curl-slow");
  json session;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& s : https_sessions()) {
          json d = s.value("/inspector/detail"_json_pointer, json::object());
          if (d.value("version", "") == "h2" &&
              d.value("/streams/server/h2_frames"_json_pointer, 0) > 2) {
            session = s;
            return true;
          }
        }
        return false;
      },
      20s))
      << https_sessions().dump(2) << "\n"
      << slow.log();
  SCOPED_TRACE(session.dump(2));
  const json& detail = session["inspector"]["detail"];
  EXPECT_EQ(session["verdict"], "intercept");
  EXPECT_EQ(detail["quic_block"], block);
  if (block) {
    EXPECT_GE(detail["h2_header_blocks"]["rewritten"].get<int>(), 1);
    EXPECT_EQ(detail["h2_header_blocks"]["errors"], 0);
    EXPECT_GE(detail["alt_svc_removed"].get<int>(), 1);
    EXPECT_TRUE(contains(session["inspector"]["brief"].get<std::string>(), "alt-svc-removed="));
  } else {
    EXPECT_FALSE(detail.contains("h2_header_blocks"));
    EXPECT_EQ(detail["alt_svc_removed"], 0);
  }
  EXPECT_EQ(slow.wait(60s), 0) << slow.log();
  EXPECT_TRUE(read_file(d_ + "/slow.1") == big) << "the slow 2 MB body changed";
  EXPECT_EQ(header_lines(read_file(d_ + "/slow.headers"), "alt-svc").size(), 2u);
}

// `wirebump quic block|allow` at run time switches the inspectors too (for sessions that start
// afterwards), not only the kernel's QUIC drop: the opposite of the config's setting each way.
TEST_P(AltSvcThroughTheBridge, QuicSwitchAtRunTimeAppliesToNewSessions) {
  const bool block = !GetParam();
  auto switched = agent_->cli(std::string("quic ") + (block ? "block" : "allow") + " --json");
  ASSERT_EQ(switched.exit_code, 0) << switched.err;
  auto state = json::parse(switched.out, nullptr, false);
  ASSERT_TRUE(state.is_object()) << switched.out;
  EXPECT_EQ(state.value("block_quic", !block), block) << switched.out;

  auto h2 = curl("switched", "--http2", {"/hello.txt", "/only-h3/hello.txt"});
  ASSERT_EQ(h2.exit_code, 0) << h2.err << "\nagent:\n" << agent_->agent()->log();
  std::string headers = read_file(d_ + "/switched.headers");
  SCOPED_TRACE(headers);
  EXPECT_EQ(body("switched", 1), "hello through the bridge\n");
  if (block) {
    EXPECT_EQ(header_lines(headers, "alt-svc"), std::vector<std::string>{" h2=\":443\""});
  } else {
    EXPECT_EQ(header_lines(headers, "alt-svc"),
              (std::vector<std::string>{" h3=\":443\"; ma=86400, h2=\":443\"",
                                        " h3-29=\":443\", h3=\":443\""}));
  }
}

INSTANTIATE_TEST_SUITE_P(BlockQuic, AltSvcThroughTheBridge, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace wb::test
