// `wirebump config show`: the effective configuration as TOML that the parser reads back to the
// same configuration, every key present (defaults included), and the same as JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "agent/config/effective_config.h"
#include "tests/config/every_key.h"

namespace wb::config {
namespace {

Config parse_or_fail(std::string_view text) {
  auto c = parse_config(text, "test.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message()) << "\n" << text;
  return c.ok() ? std::move(c).value() : Config{};
}

std::string printed(const Config& c) {
  std::ostringstream out;
  out << effective_config(c);
  return out.str();
}

TEST(EffectiveConfig, ReadsBackToTheSameConfiguration) {
  for (std::string_view text : {kEveryKeySet, std::string_view("")}) {
    const Config first = parse_or_fail(text);
    const std::string shown = printed(first);
    const Config again = parse_or_fail(shown);
    EXPECT_EQ(effective_config(again), effective_config(first)) << shown;
    EXPECT_EQ(printed(again), shown);
  }
}

TEST(EffectiveConfig, ShowsEveryValueSetAndEveryDefault) {
  const toml::table all = effective_config(parse_or_fail(kEveryKeySet));
  EXPECT_EQ(all["bridge"].value<std::string>(), "wbr1");
  EXPECT_EQ(all["steer_mark"].value<std::int64_t>(), 0x10);
  EXPECT_EQ(all["certs"]["max_validity_days"].value<std::int64_t>(), 90);
  EXPECT_EQ(all["pinning_window"].value<std::int64_t>(), 0);
  EXPECT_EQ(all["detect"]["ms-turn"].value<bool>(), false);
  EXPECT_EQ(all["policy"][1]["action"].value<std::string>(), "allow-undetected");
  EXPECT_EQ(all["keylog"].value<std::string>(), "/var/log/wb-keys.txt");

  // An empty file: every key that has a default is shown with it; the optional ones are absent.
  const toml::table defaults = effective_config(Config{});
  for (std::string_view key : {"bridge",
                               "ports",
                               "xdp",
                               "steer_mark",
                               "route_table",
                               "state_dir",
                               "run_dir",
                               "pin_dir",
                               "workers",
                               "log_level",
                               "intercept",
                               "block_quic",
                               "candidate_ports",
                               "bypass_src",
                               "bypass_dst",
                               "on_max_sessions",
                               "trust_store",
                               "tunnel_on_error",
                               "speculative_handshake",
                               "compact_idle_sessions",
                               "compact_skip_after",
                               "openssl_builtin_key_methods",
                               "learned_tunnel_ttl",
                               "pinning_window",
                               "sip_malformed",
                               "limits",
                               "timeouts",
                               "certs",
                               "detect"}) {
    EXPECT_TRUE(defaults.contains(key)) << key;
  }
  EXPECT_FALSE(defaults.contains("crl_host"));
  EXPECT_FALSE(defaults.contains("keylog"));
  EXPECT_FALSE(defaults.contains("policy"));
  EXPECT_EQ(defaults["timeouts"]["idle"].value<std::int64_t>(), 300);
  EXPECT_NE(printed(Config{}).find("steer_mark = 0x776200"), std::string::npos)
      << printed(Config{});
}

TEST(EffectiveConfig, JsonHasTheSameTree) {
  std::ostringstream out;
  out << toml::json_formatter{effective_config(parse_or_fail(kEveryKeySet))};
  const auto json = nlohmann::json::parse(out.str(), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << out.str();
  EXPECT_EQ(json["certs"]["max_validity_days"], 90);
  EXPECT_EQ(json["policy"][0]["sni"], "*.bank.example");
  EXPECT_EQ(json["bypass_src"][1], "fd00::/8");
  EXPECT_EQ(json["steer_mark"], 16);
}

}  // namespace
}  // namespace wb::config
