#include "agent/cli/agent_call.h"

#include <cstdio>
#include <iostream>

#include "agent/config/config.h"
#include "agent/control/client.h"

namespace wb::cli {

void usage_error(Context& ctx, std::string_view what, std::string_view message) {
  std::fprintf(stderr, "wirebump %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(message.size()), message.data());
  ctx.exit_code = kExitUsage;
}

void print_json(const nlohmann::json& value) {
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

CLI::App* add_leaf(CLI::App& parent, const std::string& name, const std::string& description,
                   bool& json) {
  auto* leaf = parent.add_subcommand(name, description);
  leaf->add_flag("--json", json, "Print the agent's answer as JSON (for scripts)");
  return leaf;
}

std::optional<config::Config> load_config_or_report(Context& ctx, std::string_view what,
                                                    const std::string& path) {
  auto loaded = config::load_config(path);
  if (loaded) return std::move(loaded).value();
  const auto& e = loaded.error();
  std::fprintf(stderr, "wirebump%s%.*s: %s\n", what.empty() ? "" : " ",
               static_cast<int>(what.size()), what.data(),
               (e.code == std::errc::invalid_argument ? e.context : e.message()).c_str());
  ctx.exit_code = kExitUsage;
  return std::nullopt;
}

std::optional<std::filesystem::path> resolve_socket(Context& ctx) {
  if (!ctx.socket_path.empty()) return std::filesystem::path(ctx.socket_path);
  if (!ctx.config_path.empty()) {
    auto config = load_config_or_report(ctx, "", ctx.config_path);
    if (!config) return std::nullopt;
    return config->control_socket();
  }
  return std::filesystem::path(control::kDefaultSocketPath);
}

std::optional<nlohmann::json> call_agent(Context& ctx, std::string_view what,
                                         const std::string& cmd, nlohmann::json args) {
  auto socket = resolve_socket(ctx);
  if (!socket) return std::nullopt;
  control::CallOptions options;
  options.timeout = std::chrono::milliseconds(static_cast<long long>(ctx.timeout_s * 1000));
  auto reply = control::call(*socket, control::Request{cmd, std::move(args)}, options);
  const std::string prefix = "wirebump " + std::string(what) + ": ";
  if (!reply) {
    const auto& e = reply.error();
    if (control::is_no_agent(e)) {
      std::fprintf(stderr, "wirebump: no agent is running (no control socket at %s)\n",
                   socket->c_str());
      ctx.exit_code = kExitNoAgent;
    } else if (e.code == std::errc::permission_denied) {
      std::fprintf(stderr, "%spermission denied on %s: the control socket is root-only\n",
                   prefix.c_str(), socket->c_str());
      ctx.exit_code = kExitFailure;
    } else if (e.code == std::errc::timed_out) {
      std::fprintf(stderr, "%sthe agent did not answer within %g s (%s)\n", prefix.c_str(),
                   ctx.timeout_s, socket->c_str());
      ctx.exit_code = kExitFailure;
    } else {
      std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.message().c_str());
      ctx.exit_code = kExitFailure;
    }
    return std::nullopt;
  }
  if (!reply->ok) {
    if (reply->code == control::code::kUnknownCommand) {
      std::fprintf(stderr, "%sthe running agent does not support this command (%s)\n",
                   prefix.c_str(), reply->error.c_str());
    } else {
      std::fprintf(stderr, "%s%s\n", prefix.c_str(), reply->error.c_str());
    }
    ctx.exit_code = reply->code == control::code::kInvalidArgument ? kExitUsage : kExitFailure;
    return std::nullopt;
  }
  ctx.exit_code = kExitOk;
  return std::move(reply->result);
}

}  // namespace wb::cli
