// The line protocol without sockets: encoding, strict request parsing, argument helpers.
#include <gtest/gtest.h>

#include "agent/control/protocol.h"

namespace wb::control {
namespace {

using nlohmann::json;

TEST(Protocol, RequestRoundTrip) {
  auto line = encode(Request{"bypass.add", {{"direction", "src"}, {"cidr", "10.0.0.0/8"}}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
  auto r = parse_request(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cmd, "bypass.add");
  EXPECT_EQ(r->args["cidr"], "10.0.0.0/8");
  auto no_args = parse_request("{\"cmd\":\"status\"}");
  ASSERT_TRUE(no_args.ok());
  EXPECT_TRUE(no_args->args.is_object());
  EXPECT_TRUE(parse_request("{\"cmd\":\"status\",\"args\":null}").ok());
}

TEST(Protocol, ResponseRoundTrip) {
  auto ok = encode(Response::success({{"ports", {443}}}));
  auto parsed = parse_response(std::string_view(ok).substr(0, ok.size() - 1));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->ok);
  EXPECT_EQ(parsed->result["ports"][0], 443);
  auto err = encode(Response::failure(code::kNotFound, "no rule 3"));
  EXPECT_EQ(json::parse(err), json({{"ok", false}, {"error", "no rule 3"}, {"code", "not_found"}}));
  // Invalid UTF-8 in a handler's text does not throw.
  auto bad_utf8 = encode(Response::success({{"sni", std::string("\xff\xfe", 2)}}));
  EXPECT_TRUE(json::accept(bad_utf8));
  EXPECT_FALSE(parse_response("{\"result\":1}").ok());
  EXPECT_FALSE(parse_response("garbage").ok());
}

TEST(Protocol, EveryPrefixOfARequestIsHandled) {
  const std::string line =
      "{\"cmd\":\"policy.add\",\"args\":{\"sni\":\"*.x\",\"action\":\"deny\"}}";
  for (std::size_t n = 0; n < line.size(); ++n) {
    auto r = parse_request(std::string_view(line).substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, std::make_error_code(std::errc::bad_message));
    }
  }
  EXPECT_TRUE(parse_request(line).ok());
}

TEST(Protocol, Args) {
  json args = {{"port", 443}, {"on", true}, {"name", "x"}, {"big", 1ull << 63}, {"neg", -1}};
  EXPECT_EQ(*arg_int(args, "port", 1, 65535), 443);
  EXPECT_FALSE(arg_int(args, "big", 1, 65535).ok());
  EXPECT_FALSE(arg_int(args, "neg", 0, 10).ok());
  EXPECT_FALSE(arg_int(args, "name", 0, 10).ok());
  EXPECT_FALSE(arg_int(args, "absent", 0, 10).ok());
  EXPECT_TRUE(*arg_bool(args, "on"));
  EXPECT_FALSE(arg_bool(args, "port").ok());
  EXPECT_EQ(*arg_string(args, "name"), "x");
  EXPECT_FALSE(arg_string(args, "port").ok());
  EXPECT_EQ(arg_string(args, "port").error().context, "argument \"port\" must be a string");
  EXPECT_TRUE(has_arg(args, "on"));
  EXPECT_FALSE(has_arg(json{{"x", nullptr}}, "x"));
  EXPECT_FALSE(has_arg(json::array(), "x"));
}

TEST(Protocol, ErrorCodes) {
  EXPECT_EQ(code_for(invalid_argument("x").code), "invalid_argument");
  EXPECT_EQ(code_for(not_found("x").code), "not_found");
  EXPECT_EQ(code_for(unsupported("x").code), "unsupported");
  EXPECT_EQ(code_for(std::error_code(EIO, std::system_category())), "failed");
  EXPECT_EQ(code_for(std::error_code(EINVAL, std::system_category())), "invalid_argument");
}

}  // namespace
}  // namespace wb::control
