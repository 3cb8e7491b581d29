// A real ControlServer in the test process, answering the wirebump binary (run as a child) with
// fixed data, and recording every request it received so tests check what the CLI sent.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "agent/control/server.h"
#include "tests/control/temp_dir.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

namespace wb::cli_test {

using test::TempDir;

class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override { server_.reset(); }

  // Registers a handler that records its args and returns `result`.
  void answer(const std::string& cmd, nlohmann::json result);
  // Registers a handler that records its args and fails with `error`.
  void fail(const std::string& cmd, Error error);

  // Runs `wirebump --socket SOCK <args>`.
  test::CommandResult cli(const std::string& args);
  // The args of the last request for `cmd` (null if none arrived).
  nlohmann::json last_args(const std::string& cmd);
  std::size_t requests(const std::string& cmd);

  std::string socket() const { return (dir_.path() / "run" / "control.sock").string(); }

  TempDir dir_;
  std::unique_ptr<control::ControlServer> server_;
  std::mutex mu_;
  std::vector<std::pair<std::string, nlohmann::json>> received_;
};

// Lines of `text` split on '\n'.
std::vector<std::string> lines(const std::string& text);
// The column at which `header` starts in the header line (npos if absent).
std::size_t column_of(const std::string& header_line, const std::string& header);

}  // namespace wb::cli_test
