#include "tests/cli/cli_fixture.h"

#include <unistd.h>

namespace wb::cli_test {

void AgentFixture::SetUp() {
  control::ServerOptions options;
  options.socket_path = socket();
  options.allowed_uid = ::geteuid();
  server_ = std::make_unique<control::ControlServer>(options);
  ASSERT_TRUE(server_->start().ok());
}

void AgentFixture::answer(const std::string& cmd, nlohmann::json result) {
  server_->handle(cmd, [this, cmd, result](const nlohmann::json& args) -> Result<nlohmann::json> {
    std::lock_guard lock(mu_);
    received_.emplace_back(cmd, args);
    return result;
  });
}

void AgentFixture::fail(const std::string& cmd, Error error) {
  server_->handle(cmd, [this, cmd, error](const nlohmann::json& args) -> Result<nlohmann::json> {
    std::lock_guard lock(mu_);
    received_.emplace_back(cmd, args);
    return error;
  });
}

test::CommandResult AgentFixture::cli(const std::string& args) {
  return test::run(test::wirebump_binary() + " --socket " + socket() + " " + args,
                   std::chrono::seconds(20));
}

nlohmann::json AgentFixture::last_args(const std::string& cmd) {
  std::lock_guard lock(mu_);
  for (auto it = received_.rbegin(); it != received_.rend(); ++it) {
    if (it->first == cmd) return it->second;
  }
  return nullptr;
}

std::size_t AgentFixture::requests(const std::string& cmd) {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [name, args] : received_) n += name == cmd ? 1 : 0;
  return n;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::size_t column_of(const std::string& header_line, const std::string& header) {
  return header_line.find(header);
}

}  // namespace wb::cli_test
