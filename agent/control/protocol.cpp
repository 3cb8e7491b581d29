#include "agent/control/protocol.h"

namespace wb::control {
namespace {

using nlohmann::json;

Error bad_message(std::string what) {
  return make_error(std::errc::bad_message, std::move(what));
}

// Parses without exceptions; nullopt-like discarded value on error.
json parse_json(std::string_view line) {
  return json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
}

}  // namespace

Response Response::success(nlohmann::json result) {
  Response r;
  r.ok = true;
  r.result = std::move(result);
  return r;
}

Response Response::failure(std::string code, std::string error) {
  Response r;
  r.ok = false;
  r.code = std::move(code);
  r.error = std::move(error);
  return r;
}

std::string encode(const Request& request) {
  json j = {{"cmd", request.cmd}, {"args", request.args.is_null() ? json::object() : request.args}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string encode(const Response& response) {
  json j;
  j["ok"] = response.ok;
  if (response.ok) {
    j["result"] = response.result;
  } else {
    j["error"] = response.error;
    j["code"] = response.code;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Request> parse_request(std::string_view line) {
  json j = parse_json(line);
  if (j.is_discarded()) return bad_message("the request is not valid JSON");
  if (!j.is_object()) return bad_message("the request must be a JSON object");
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string() || cmd->get_ref<const std::string&>().empty()) {
    return bad_message("the request needs \"cmd\": a non-empty string");
  }
  Request request;
  request.cmd = cmd->get<std::string>();
  if (auto args = j.find("args"); args != j.end() && !args->is_null()) {
    if (!args->is_object()) return bad_message("\"args\" must be a JSON object");
    request.args = *args;
  }
  for (const auto& item : j.items()) {
    if (item.key() != "cmd" && item.key() != "args") {
      return bad_message("unknown request field \"" + item.key() + "\"");
    }
  }
  return request;
}

Result<Response> parse_response(std::string_view line) {
  json j = parse_json(line);
  if (j.is_discarded() || !j.is_object())
    return bad_message("the agent's reply is not a JSON object");
  auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean()) return bad_message("the agent's reply has no \"ok\"");
  Response r;
  r.ok = ok->get<bool>();
  if (r.ok) {
    r.result = j.value("result", json());
  } else {
    auto error = j.find("error");
    auto code = j.find("code");
    r.error = error != j.end() && error->is_string() ? error->get<std::string>() : "unknown error";
    r.code = code != j.end() && code->is_string() ? code->get<std::string>() : code::kFailed;
  }
  return r;
}

std::string_view code_for(const std::error_code& error) {
  if (error == std::errc::invalid_argument) return code::kInvalidArgument;
  if (error == std::errc::no_such_file_or_directory) return code::kNotFound;
  if (error == std::errc::not_supported || error == std::errc::function_not_supported ||
      error == std::errc::operation_not_supported) {
    return code::kUnsupported;
  }
  return code::kFailed;
}

bool has_arg(const nlohmann::json& args, std::string_view name) {
  return args.is_object() && args.contains(name) && !args.at(std::string(name)).is_null();
}

Result<std::string> arg_string(const nlohmann::json& args, std::string_view name) {
  if (!has_arg(args, name))
    return invalid_argument("missing argument \"" + std::string(name) + "\"");
  const auto& v = args.at(std::string(name));
  if (!v.is_string())
    return invalid_argument("argument \"" + std::string(name) + "\" must be a string");
  return v.get<std::string>();
}

Result<bool> arg_bool(const nlohmann::json& args, std::string_view name) {
  if (!has_arg(args, name))
    return invalid_argument("missing argument \"" + std::string(name) + "\"");
  const auto& v = args.at(std::string(name));
  if (!v.is_boolean())
    return invalid_argument("argument \"" + std::string(name) + "\" must be true or false");
  return v.get<bool>();
}

Result<std::int64_t> arg_int(const nlohmann::json& args, std::string_view name, std::int64_t min,
                             std::int64_t max) {
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (!has_arg(args, name))
    return invalid_argument("missing argument \"" + std::string(name) + "\"");
  const auto& v = args.at(std::string(name));
  if (!v.is_number_integer()) {
    return invalid_argument("argument \"" + std::string(name) + "\" must be an integer in " +
                            range);
  }
  // Unsigned values beyond int64 cannot be in range anyway.
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    return invalid_argument("argument \"" + std::string(name) + "\" is out of range (" + range +
                            ")");
  }
  auto value = v.get<std::int64_t>();
  if (value < min || value > max) {
    return invalid_argument("argument \"" + std::string(name) + "\" is out of range (" + range +
                            ")");
  }
  return value;
}

Error invalid_argument(std::string message) {
  return make_error(std::errc::invalid_argument, std::move(message));
}
Error not_found(std::string message) {
  return make_error(std::errc::no_such_file_or_directory, std::move(message));
}
Error unsupported(std::string message) {
  return make_error(std::errc::not_supported, std::move(message));
}

}  // namespace wb::control
