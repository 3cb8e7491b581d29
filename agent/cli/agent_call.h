// What every agent-facing command does: validate locally, find the control socket, send one
// request, map the outcome to an exit code and a message on stderr.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/cli/commands.h"
#include "agent/config/config.h"

namespace wb::cli {

// The configuration at `path`, or nullopt after printing "wirebump <what>: file:line:col: key:
// what" (or why it cannot be read) and setting exit code 2.
std::optional<config::Config> load_config_or_report(Context& ctx, std::string_view what,
                                                    const std::string& path);

// --socket if given, else run_dir/control.sock of -c CONFIG, else /run/wirebump/control.sock.
// A config that does not parse is a usage error (exit 2, message printed).
std::optional<std::filesystem::path> resolve_socket(Context& ctx);

// Sends {"cmd": cmd, "args": args}. Returns the result on success. Otherwise prints
// "wirebump <what>: <reason>" and sets ctx.exit_code:
//   3 no agent, 2 the agent refused the arguments (invalid_argument), 1 anything else.
std::optional<nlohmann::json> call_agent(Context& ctx, std::string_view what,
                                         const std::string& cmd,
                                         nlohmann::json args = nlohmann::json::object());

// Prints "wirebump <what>: <message>" and sets exit code 2.
void usage_error(Context& ctx, std::string_view what, std::string_view message);

// Pretty JSON on stdout (for --json).
void print_json(const nlohmann::json& value);

// A leaf subcommand with the --json flag every command offers.
CLI::App* add_leaf(CLI::App& parent, const std::string& name, const std::string& description,
                   bool& json);

}  // namespace wb::cli
