// The datapath as an operator drives it: the real `wirebump run` with `xdp = "generic"` in its
// config on the bridge of the Topology fixture, the real CLI. XDP lands on both ports,
// `wirebump quic block|allow` switches the kernel's QUIC drop at run time (a QUIC Initial on
// UDP 443 dropped, STUN on the same port passed), the pinned maps outlive the agent with what
// the operator switched, and `wirebump down` removes pins, tc filters and XDP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/datapath/datapath_fixture.h"

namespace wb::test {
namespace {

class AgentDatapathE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    skip_unless_root("the namespace topology running the agent");
    topo_ = std::make_unique<Topology>(TopologyOptions{.tx_offload = false});
    ASSERT_TRUE(topo_->ok()) << topo_->error();
    pin_dir_ = "/sys/fs/bpf/" + topo_->prefix();
    config_ = topo_->dir() + "/wirebump.toml";
    std::ofstream(config_) << "bridge = \"br0\"\nports = [\"eth1\", \"eth2\"]\n"
                           << "run_dir = \"" << topo_->dir() << "/run\"\n"
                           << "state_dir = \"" << topo_->dir() << "/state\"\n"
                           << "pin_dir = \"" << pin_dir_ << "\"\n"
                           << "workers = 1\nxdp = \"generic\"\nblock_quic = false\n";
  }
  void TearDown() override {
    if (!topo_ || !topo_->ok()) return;
    if (agent_ != nullptr) agent_->stop(std::chrono::seconds(8));
    cli("down");
    run("rm -rf " + shell_quote(pin_dir_));
  }

  void start_agent() {
    agent_ = &topo_->spawn(topo_->bridge(), "exec " + wirebump_binary() + " run -c " + config_,
                           "agent" + std::to_string(++starts_));
    ASSERT_TRUE(
        eventually([&] { return cli("status --json").exit_code == 0; }, std::chrono::seconds(20)))
        << agent_->log();
  }
  // `wirebump ARGS -c CONFIG` in the bridge namespace (nsenter: the pins stay visible).
  CommandResult cli(const std::string& args) {
    return topo_->enter(topo_->bridge(), wirebump_binary() + " " + args + " -c " + config_);
  }
  std::string link(const char* dev) {
    return topo_->exec(topo_->bridge(), std::string("ip link show ") + dev).out;
  }
  // The pinned config map as bpftool shows it (named fields, BTF).
  nlohmann::json kernel_config() {
    CommandResult r = run("bpftool -j map dump pinned " + pin_dir_ + "/" WB_MAP_CONFIG);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_array() || j.empty()) return nullptr;
    return j[0]["formatted"]["value"];
  }
  // Sends a QUIC Initial and a STUN request to UDP 443; true when the QUIC one arrived
  // (the STUN one must arrive either way).
  bool quic_arrives(const std::string& log) {
    std::size_t stun_before = count(read_file(log), kStunHex);
    CommandResult r = send_quic_initial_and_stun(*topo_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(eventually([&] { return count(read_file(log), kStunHex) > stun_before; }))
        << "STUN on UDP 443 must pass: " << read_file(log);
    // The Initial was sent first on the same path: if it passed, it is in the log by now.
    std::size_t quic = count(read_file(log), kQuicInitialHex);
    bool arrived = quic > quic_seen_;
    quic_seen_ = quic;
    return arrived;
  }
  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  std::unique_ptr<Topology> topo_;
  std::string pin_dir_, config_;
  Process* agent_ = nullptr;
  int starts_ = 0;
  std::size_t quic_seen_ = 0;
};

TEST_F(AgentDatapathE2E, XdpFromConfigQuicSwitchAtRunTimeSurvivesRestartDownRemovesAll) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_NE(link("eth1").find("xdpgeneric"), std::string::npos) << link("eth1");
  EXPECT_NE(link("eth2").find("xdpgeneric"), std::string::npos) << link("eth2");
  auto status = nlohmann::json::parse(cli("status --json").out, nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["block_quic"], false);

  std::string log = start_udp443_logger(*topo_);
  ASSERT_FALSE(log.empty());
  EXPECT_TRUE(quic_arrives(log)) << "block_quic = false: QUIC passes";

  CommandResult block = cli("quic block");
  ASSERT_EQ(block.exit_code, 0) << block.err;
  EXPECT_EQ(block.out, "quic blocked\n");
  EXPECT_EQ(kernel_config()["block_quic"], 1) << "written into the pinned map";
  EXPECT_FALSE(quic_arrives(log)) << "blocked: the Initial is dropped, STUN still passes";

  // The agent stops; the pins stay and keep the operator's switch for the next agent.
  agent_->stop(std::chrono::seconds(8));
  agent_ = nullptr;
  ASSERT_TRUE(std::filesystem::exists(pin_dir_ + "/" WB_MAP_CONFIG));
  EXPECT_EQ(kernel_config()["block_quic"], 1);
  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_FALSE(quic_arrives(log)) << "still blocked after the restart";

  CommandResult allow = cli("quic allow");
  ASSERT_EQ(allow.exit_code, 0) << allow.err;
  EXPECT_EQ(allow.out, "quic allowed\n");
  EXPECT_EQ(kernel_config()["block_quic"], 0);
  EXPECT_TRUE(quic_arrives(log)) << "allowed again";

  CommandResult down = cli("down");
  ASSERT_EQ(down.exit_code, 0) << down.err << down.out;
  agent_ = nullptr;  // `down` stopped it
  EXPECT_FALSE(std::filesystem::exists(pin_dir_)) << "pins left behind";
  EXPECT_EQ(link("eth1").find("xdp"), std::string::npos) << link("eth1");
  EXPECT_EQ(link("eth2").find("xdp"), std::string::npos) << link("eth2");
  EXPECT_EQ(topo_->exec(topo_->bridge(), "tc filter show dev eth1 ingress").out, "");
}

}  // namespace
}  // namespace wb::test
