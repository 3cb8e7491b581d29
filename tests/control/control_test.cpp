// The control socket for real: a ControlServer on a unix socket in a private temp directory,
// clients over real sockets (our client, raw sockets, and socat run as another uid).
#include <gtest/gtest.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/common/unique_fd.h"
#include "agent/control/client.h"
#include "agent/control/server.h"
#include "tests/control/temp_dir.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

namespace wb::control {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using test::TempDir;

// A raw client: connects and exchanges bytes without our client library.
UniqueFd raw_connect(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads one line (without '\n'), or what arrived before EOF / the timeout.
std::string read_line(int fd, std::chrono::milliseconds timeout = 3s) {
  std::string in;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, &c, 1, 0) != 1) break;
    if (c == '\n') break;
    in.push_back(c);
  }
  return in;
}

// True when the peer closed the connection within the timeout.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout = 3s) {
  char buf[256];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
  }
  return false;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.socket_path = dir_.path() / "run" / "control.sock";
    options_.client_timeout = 2s;
  }
  void start() {
    server_ = std::make_unique<ControlServer>(options_);
    server_->handle("echo", [](const json& args) -> Result<json> { return json{{"args", args}}; });
    server_->handle("ports.add", [](const json& args) -> Result<json> {
      WB_TRY_ASSIGN(auto port, arg_int(args, "port", 1, 65535));
      return json{{"ports", {443, port}}};
    });
    server_->handle("policy.del", [](const json& args) -> Result<json> {
      WB_TRY_ASSIGN(auto id, arg_int(args, "id", 1, 1 << 30));
      return not_found("no policy rule with id " + std::to_string(id));
    });
    server_->handle("throws", [](const json& args) -> Result<json> {
      return json{{"n", args.at("missing").get<int>()}};
    });
    server_->handle("fails", [](const json&) -> Result<json> {
      return make_error(std::errc::io_error, "write map wb_ports");
    });
    ASSERT_TRUE(server_->start().ok());
  }
  Response must_call(const std::string& cmd, json args = json::object()) {
    auto r = call(options_.socket_path, Request{cmd, std::move(args)}, CallOptions{3s});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : Response{};
  }

  TempDir dir_;
  ServerOptions options_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlTest, RoundTrip) {
  start();
  auto r = must_call("echo", {{"x", 1}, {"s", "héllo"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.result["args"]["x"], 1);
  EXPECT_EQ(r.result["args"]["s"], "héllo");
  auto ping = must_call("ping");
  ASSERT_TRUE(ping.ok);
  EXPECT_EQ(ping.result["pid"], ::getpid());
  auto cmds = must_call("commands");
  ASSERT_TRUE(cmds.ok);
  EXPECT_NE(std::find(cmds.result["commands"].begin(), cmds.result["commands"].end(), "echo"),
            cmds.result["commands"].end());
  auto add = must_call("ports.add", {{"port", 8443}});
  ASSERT_TRUE(add.ok) << add.error;
  EXPECT_EQ(add.result["ports"], json({443, 8443}));
  EXPECT_GE(server_->requests_served(), 4u);
}

TEST_F(ControlTest, HandlerErrorsBecomeCodes) {
  start();
  auto range = must_call("ports.add", {{"port", 70000}});
  EXPECT_FALSE(range.ok);
  EXPECT_EQ(range.code, "invalid_argument");
  EXPECT_NE(range.error.find("\"port\" is out of range (1..65535)"), std::string::npos)
      << range.error;
  auto missing = must_call("ports.add");
  EXPECT_EQ(missing.code, "invalid_argument");
  EXPECT_NE(missing.error.find("missing argument \"port\""), std::string::npos);
  auto type = must_call("ports.add", {{"port", "443"}});
  EXPECT_EQ(type.code, "invalid_argument");
  auto nf = must_call("policy.del", {{"id", 7}});
  EXPECT_EQ(nf.code, "not_found");
  EXPECT_EQ(nf.error, "no policy rule with id 7");
  auto thrown = must_call("throws");
  EXPECT_EQ(thrown.code, "invalid_argument");
  EXPECT_NE(thrown.error.find("throws: bad arguments"), std::string::npos) << thrown.error;
  auto failed = must_call("fails");
  EXPECT_EQ(failed.code, "failed");
  EXPECT_EQ(failed.error, "write map wb_ports");
  // The server survived all of that.
  EXPECT_TRUE(must_call("ping").ok);
}

TEST_F(ControlTest, UnknownCommand) {
  start();
  auto r = must_call("no.such.thing");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, "unknown_command");
  EXPECT_NE(r.error.find("\"no.such.thing\""), std::string::npos);
}

TEST_F(ControlTest, BadJsonGetsBadRequestAndClose) {
  start();
  for (const char* bad : {"this is not json", "[1,2]", "{\"args\":{}}", "{\"cmd\":5}",
                          "{\"cmd\":\"ping\",\"args\":[1]}", "{\"cmd\":\"ping\",\"extra\":1}",
                          "{\"cmd\":\"\"}", "{\"cmd\":\"ping\""}) {
    auto fd = raw_connect(options_.socket_path);
    ASSERT_TRUE(fd.valid());
    send_all(fd.get(), std::string(bad) + "\n");
    auto reply = json::parse(read_line(fd.get()), nullptr, false);
    ASSERT_TRUE(reply.is_object()) << bad;
    EXPECT_EQ(reply["ok"], false) << bad;
    EXPECT_EQ(reply["code"], "bad_request") << bad << " -> " << reply.dump();
    EXPECT_TRUE(closed_by_peer(fd.get())) << bad;
  }
  EXPECT_TRUE(must_call("ping").ok);
}

TEST_F(ControlTest, OversizedRequestRefused) {
  start();
  // Without a newline: refused once the buffer passes the limit.
  auto fd = raw_connect(options_.socket_path);
  ASSERT_TRUE(fd.valid());
  std::string big =
      "{\"cmd\":\"echo\",\"args\":{\"x\":\"" + std::string(kMaxRequestBytes + 100, 'a');
  send_all(fd.get(), big);
  auto reply = json::parse(read_line(fd.get()), nullptr, false);
  ASSERT_TRUE(reply.is_object());
  EXPECT_EQ(reply["code"], "too_large");
  EXPECT_TRUE(closed_by_peer(fd.get()));
  // With a newline in the same burst: same answer.
  auto fd2 = raw_connect(options_.socket_path);
  send_all(fd2.get(), big + "\"}}\n");
  auto reply2 = json::parse(read_line(fd2.get()), nullptr, false);
  EXPECT_EQ(reply2["code"], "too_large");
  // Just under the limit is served.
  std::string fits =
      "{\"cmd\":\"echo\",\"args\":{\"x\":\"" + std::string(kMaxRequestBytes - 64, 'b') + "\"}}";
  auto r = must_call("echo", {{"x", std::string(kMaxRequestBytes - 64, 'b')}});
  EXPECT_TRUE(r.ok);
}

TEST_F(ControlTest, SeveralRequestsOnOneConnectionAndLastLineWithoutNewline) {
  start();
  auto fd = raw_connect(options_.socket_path);
  send_all(fd.get(), "{\"cmd\":\"ping\"}\n{\"cmd\":\"echo\",\"args\":{\"n\":2}}\r\n");
  EXPECT_EQ(json::parse(read_line(fd.get()))["result"]["pong"], true);
  EXPECT_EQ(json::parse(read_line(fd.get()))["result"]["args"]["n"], 2);
  send_all(fd.get(), "{\"cmd\":\"echo\",\"args\":{\"n\":3}}");
  ::shutdown(fd.get(), SHUT_WR);
  EXPECT_EQ(json::parse(read_line(fd.get()))["result"]["args"]["n"], 3);
  EXPECT_TRUE(closed_by_peer(fd.get()));
}

TEST_F(ControlTest, SocketIsPrivate) {
  start();
  struct stat st {};
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat(options_.socket_path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Even with a permissive umask in the process, the socket is created 0600.
  server_->stop();
  mode_t old = ::umask(0);
  start();
  ::umask(old);
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ControlTest, RefusesADirectoryOthersCanEnter) {
  auto open_dir = dir_.path() / "open";
  std::filesystem::create_directory(open_dir);
  ::chmod(open_dir.c_str(), 0755);
  ControlServer server({.socket_path = open_dir / "control.sock"});
  auto st = server.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().context.find("has mode 0755"), std::string::npos) << st.error().context;
  struct stat s {};
  ASSERT_EQ(::stat(open_dir.c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0755u) << "an existing directory must never be chmod-ed";
}

// uid 65534 cannot even connect: the file mode (0600) and directory (0700) stop it.
TEST_F(ControlTest, NonRootPeerCannotConnect) {
  test::skip_unless_root("switching to uid 65534 (setpriv)");
  start();
  auto r =
      test::run("setpriv --reuid=65534 --regid=65534 --clear-groups socat -T2 - UNIX-CONNECT:" +
                    options_.socket_path.string() + " </dev/null",
                10s);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

// With CAP_DAC_OVERRIDE (file modes bypassed), a non-root peer still gets refused by
// SO_PEERCRED with a clear reply and a closed connection.
TEST_F(ControlTest, NonRootPeerRefusedByPeerCredentials) {
  test::skip_unless_root("switching to uid 65534 (setpriv)");
  start();
  // The refusal comes at accept, before any request: socat only reads (-u), so it cannot die of
  // EPIPE before printing the reply.
  auto r = test::run(
      "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override "
      "--ambient-caps=+dac_override socat -T2 -u UNIX-CONNECT:" +
          options_.socket_path.string() + " STDOUT",
      10s);
  auto reply = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(reply.is_object()) << r.out << r.err;
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["code"], "forbidden");
  EXPECT_NE(reply["error"].get<std::string>().find("peer uid 65534"), std::string::npos);
  EXPECT_GE(server_->clients_refused(), 1u);
  EXPECT_EQ(server_->requests_served(), 0u) << "the refused peer's request must not run";
  // Root is still served (allowed_uid = 0 is the default).
  EXPECT_TRUE(must_call("ping").ok);
}

// The SO_PEERCRED check itself, as root with another allowed uid.
TEST_F(ControlTest, PeerUidMustMatch) {
  options_.allowed_uid = ::geteuid() + 4242;
  start();
  auto r = call(options_.socket_path, Request{"ping", json::object()}, CallOptions{2s});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->code, "forbidden");
}

TEST_F(ControlTest, StaleSocketReplacedLiveOneKept) {
  // A socket file nobody listens on (an agent killed with SIGKILL leaves one).
  std::filesystem::create_directory(options_.socket_path.parent_path());
  ::chmod(options_.socket_path.parent_path().c_str(), 0700);
  {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, options_.socket_path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ASSERT_TRUE(std::filesystem::exists(options_.socket_path));
  start();
  EXPECT_TRUE(must_call("ping").ok);
  // A second server on the same path must not steal the live one.
  ControlServer second(options_);
  auto st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, std::make_error_code(std::errc::address_in_use));
  EXPECT_NE(st.error().context.find("another agent"), std::string::npos);
  EXPECT_TRUE(must_call("ping").ok);
}

TEST_F(ControlTest, RefusesToReplaceARegularFile) {
  std::filesystem::create_directory(options_.socket_path.parent_path());
  ::chmod(options_.socket_path.parent_path().c_str(), 0700);
  std::ofstream(options_.socket_path) << "precious";
  ControlServer server(options_);
  auto st = server.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().context.find("is not a socket"), std::string::npos);
  EXPECT_EQ(test::read_file(options_.socket_path), "precious");
}

TEST_F(ControlTest, StopClosesClientsAndRemovesSocket) {
  start();
  auto idle = raw_connect(options_.socket_path);
  ASSERT_TRUE(idle.valid());
  // Make sure the server has accepted it before stopping.
  send_all(idle.get(), "{\"cmd\":\"ping\"}\n");
  ASSERT_FALSE(read_line(idle.get()).empty());
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_TRUE(closed_by_peer(idle.get(), 1s));
  EXPECT_FALSE(std::filesystem::exists(options_.socket_path));
  auto r = call(options_.socket_path, Request{"ping", json::object()});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(is_no_agent(r.error())) << r.error().message();
  server_->stop();  // idempotent
}

TEST_F(ControlTest, SilentClientTimesOutWithoutBlockingOthers) {
  options_.client_timeout = 300ms;
  start();
  auto silent = raw_connect(options_.socket_path);
  auto partial = raw_connect(options_.socket_path);
  send_all(partial.get(), "{\"cmd\":\"pi");  // never finished
  // Others are served at once while those two hang around.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(must_call("ping").ok);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_TRUE(closed_by_peer(silent.get(), 2s));
  EXPECT_TRUE(closed_by_peer(partial.get(), 2s));
}

TEST_F(ControlTest, TooManyClientsGetBusy) {
  options_.max_clients = 2;
  start();
  auto a = raw_connect(options_.socket_path);
  auto b = raw_connect(options_.socket_path);
  send_all(a.get(), "{\"cmd\":\"ping\"}\n");
  send_all(b.get(), "{\"cmd\":\"ping\"}\n");
  ASSERT_FALSE(read_line(a.get()).empty());
  ASSERT_FALSE(read_line(b.get()).empty());
  auto r = call(options_.socket_path, Request{"ping", json::object()}, CallOptions{2s});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->code, "busy");
  a.reset();
  b.reset();
  EXPECT_TRUE(test::eventually(
      [&] {
        auto again = call(options_.socket_path, Request{"ping", json::object()}, CallOptions{2s});
        return again.ok() && again->ok;
      },
      3s));
}

TEST(ControlClient, NoAgentAndTimeout) {
  TempDir dir;
  auto r = call(dir.path() / "absent.sock", Request{"ping", json::object()});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(is_no_agent(r.error()));
  // A listener that never answers: the client gives up at its deadline.
  auto path = dir.path() / "mute.sock";
  UniqueFd mute(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(mute.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(mute.get(), 4), 0);
  auto t0 = std::chrono::steady_clock::now();
  auto t = call(path, Request{"ping", json::object()}, CallOptions{300ms});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, std::make_error_code(std::errc::timed_out));
  EXPECT_LT(took, 2s);
  // Closed (bound but not listening) socket: connection refused = no agent.
  auto closed_path = dir.path() / "closed.sock";
  UniqueFd closed(::socket(AF_UNIX, SOCK_STREAM, 0));
  std::strncpy(addr.sun_path, closed_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(closed.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  auto refused = call(closed_path, Request{"ping", json::object()});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(is_no_agent(refused.error())) << refused.error().message();
}

}  // namespace
}  // namespace wb::control
