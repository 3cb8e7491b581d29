// Shared fixture of the relay tests: a private network namespace per test binary, a relay on
// 127.0.0.1 with a fixed upstream, and the session table it writes.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "agent/relay/plain_handler.h"
#include "agent/relay/relay.h"
#include "agent/session/session_table.h"
#include "tests/relay/peers.h"
#include "tests/support/topology.h"

namespace wb::test {

class RelayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Not root: the binary ends with ctest's skip code and says why. Root (CI): a namespace that
    // cannot be made is a failure, not a skip.
    skip_unless_root("the relay tests' private network namespace");
    ASSERT_TRUE(enter_private_netns()) << "unshare(CLONE_NEWNET) failed as root";
  }

  // Starts a relay towards `upstream`; `tweak` adjusts the configuration first.
  void start_relay(const session::Endpoint& upstream,
                   std::function<void(relay::RelayConfig&)> tweak = {},
                   relay::HandlerFactory factory = relay::plain_relay_factory(),
                   std::size_t max_sessions = 10'000, std::size_t max_per_client = 0) {
    table_ = std::make_unique<session::SessionTable>(max_sessions, max_per_client);
    relay::RelayConfig config;
    config.listen = {session::Endpoint::loopback_v4(0)};
    config.transparent_listener = false;
    config.workers = 2;
    config.slots_per_worker = 4096;
    config.timeouts.tick = std::chrono::milliseconds(20);
    config.upstream = relay::fixed_upstream(upstream);
    if (tweak) tweak(config);
    config_ = config;
    auto started = relay::Relay::start(std::move(config), std::move(factory), *table_);
    ASSERT_TRUE(started.ok()) << started.error().message();
    relay_ = std::move(started).value();
  }

  session::Endpoint relay_address() const { return relay_->listener_address(0); }

  void TearDown() override {
    if (relay_) relay_->stop();
  }

  relay::RelayConfig config_;
  std::unique_ptr<session::SessionTable> table_;
  std::unique_ptr<relay::Relay> relay_;
};

}  // namespace wb::test
