// Unit tests of the session table: bounds and refusal counting, snapshots and filters, byte
// counters, labels, JSON and the end-of-session log line.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>
#include <vector>

#include "agent/session/session_table.h"

namespace wb::session {
namespace {

Endpoint ep(const char* text) {
  return Endpoint::parse(text).value();
}

TEST(SessionTable, RefusesBeyondMaxAndCountsRefusals) {
  SessionTable table(2);
  auto* a = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:443"));
  auto* b = table.open(ep("192.0.2.1:40001"), ep("192.0.2.2:443"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(table.open(ep("192.0.2.1:40002"), ep("192.0.2.2:443")), nullptr);
  EXPECT_EQ(table.open(ep("192.0.2.1:40003"), ep("192.0.2.2:443")), nullptr);
  EXPECT_EQ(table.active(), 2u);
  EXPECT_EQ(table.refused(), 2u);
  table.close(a, "client closed");
  auto* c = table.open(ep("192.0.2.1:40004"), ep("192.0.2.2:443"));
  ASSERT_NE(c, nullptr);        // a slot freed by close is usable again
  EXPECT_GT(c->id(), b->id());  // ids are never reused
  EXPECT_EQ(table.opened(), 3u);
}

TEST(SessionTable, RefusesBeyondThePerClientLimitAndCountsItApart) {
  SessionTable table(10, 2);
  Refusal why = Refusal::kTableFull;
  auto* a = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:443"), &why);
  EXPECT_EQ(why, Refusal::kNone);
  auto* b = table.open(ep("192.0.2.1:40001"), ep("192.0.2.2:80"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // A third from the same address (any port, any server) is refused...
  EXPECT_EQ(table.open(ep("192.0.2.1:40002"), ep("192.0.2.3:443"), &why), nullptr);
  EXPECT_EQ(why, Refusal::kClientLimit);
  EXPECT_EQ(table.refused_per_client(), 1u);
  EXPECT_EQ(table.refused(), 0u);  // counted apart from the table-full refusals
  // ...other clients are not, in either family.
  auto* other = table.open(ep("192.0.2.9:40000"), ep("192.0.2.2:443"));
  auto* v6 = table.open(ep("[2001:db8::1]:40000"), ep("[2001:db8::2]:443"));
  auto* v6b = table.open(ep("[2001:db8::1]:40001"), ep("[2001:db8::2]:443"));
  ASSERT_NE(other, nullptr);
  ASSERT_NE(v6, nullptr);
  ASSERT_NE(v6b, nullptr);
  EXPECT_EQ(table.open(ep("[2001:db8::1]:40002"), ep("[2001:db8::2]:443")), nullptr);
  EXPECT_EQ(table.refused_per_client(), 2u);
  EXPECT_EQ(table.active_from(ep("192.0.2.1:1")), 2u);
  EXPECT_EQ(table.active_from(ep("[2001:db8::1]:1")), 2u);
  EXPECT_EQ(table.active_from(ep("192.0.2.77:1")), 0u);
  // Closing one frees a place for that client only.
  table.close(a, "client closed");
  EXPECT_EQ(table.active_from(ep("192.0.2.1:1")), 1u);
  auto* c = table.open(ep("192.0.2.1:40003"), ep("192.0.2.2:443"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(table.open(ep("192.0.2.1:40004"), ep("192.0.2.2:443")), nullptr);
  EXPECT_EQ(table.refused_per_client(), 3u);
  table.close(b, "");
  table.close(c, "");
  EXPECT_EQ(table.active_from(ep("192.0.2.1:1")), 0u);
}

TEST(SessionTable, TableFullWinsOverThePerClientLimitAndZeroMeansNoLimit) {
  SessionTable table(2, 0);
  Refusal why = Refusal::kNone;
  ASSERT_NE(table.open(ep("192.0.2.1:1"), ep("192.0.2.2:443")), nullptr);
  ASSERT_NE(table.open(ep("192.0.2.1:2"), ep("192.0.2.2:443")), nullptr);
  EXPECT_EQ(table.open(ep("192.0.2.1:3"), ep("192.0.2.2:443"), &why), nullptr);
  EXPECT_EQ(why, Refusal::kTableFull);
  EXPECT_EQ(table.refused(), 1u);
  EXPECT_EQ(table.refused_per_client(), 0u);
}

TEST(SessionTable, SnapshotCopiesFieldsAndFiltersByProtocol) {
  SessionTable table(10);
  auto* https = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:443"));
  auto* sip = table.open(ep("[2001:db8::1]:40001"), ep("[2001:db8::2]:5061"));
  auto* turn = table.open(ep("192.0.2.1:40002"), ep("192.0.2.2:443"));
  table.set_protocol(https, Protocol::kHttps);
  table.set_sni(https, "www.example.com");
  table.set_verdict(https, Verdict::kIntercept, "policy default");
  table.set_protocol(sip, Protocol::kSips);
  table.set_state(sip, State::kEstablished);
  table.set_protocol(turn, Protocol::kMsTurn);
  table.set_inspection(turn, "ALLOCATE 200", nlohmann::json{{"allocations", 1}});
  const auto now = Clock::now();
  https->add_from_client(517, now);
  https->add_from_server(4096, now);
  https->add_from_server(4, now);

  const auto all = table.snapshot();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_LT(all[0].id, all[1].id);  // ordered by id
  EXPECT_EQ(all[0].client.to_string(), "192.0.2.1:40000");
  EXPECT_EQ(all[0].server.to_string(), "192.0.2.2:443");
  EXPECT_EQ(all[0].sni, "www.example.com");
  EXPECT_EQ(all[0].verdict, Verdict::kIntercept);
  EXPECT_EQ(all[0].reason, "policy default");
  EXPECT_EQ(all[0].bytes_from_client, 517u);
  EXPECT_EQ(all[0].bytes_from_server, 4100u);
  EXPECT_GE(all[0].last_activity, all[0].start);
  EXPECT_EQ(all[1].server.to_string(), "[2001:db8::2]:5061");
  EXPECT_EQ(all[1].state, State::kEstablished);

  const auto sips = table.snapshot({Protocol::kSips});
  ASSERT_EQ(sips.size(), 1u);
  EXPECT_EQ(sips[0].id, sip->id());
  const auto ms_turn = table.snapshot({Protocol::kMsTurn});
  ASSERT_EQ(ms_turn.size(), 1u);
  EXPECT_EQ(ms_turn[0].inspector_brief, "ALLOCATE 200");
  EXPECT_EQ(ms_turn[0].inspector_detail["allocations"], 1);
  EXPECT_TRUE(table.snapshot({Protocol::kHttp}).empty());

  const auto counts = table.count_by_protocol();
  EXPECT_EQ(counts.at(Protocol::kHttps), 1u);
  EXPECT_EQ(counts.at(Protocol::kSips), 1u);
  EXPECT_EQ(counts.at(Protocol::kMsTurn), 1u);
}

TEST(SessionTable, JsonNamesEveryField) {
  SessionTable table(1);
  auto* entry = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:443"));
  table.set_protocol(entry, Protocol::kMsTurn);
  table.set_inspection(entry, "brief", nlohmann::json{{"k", "v"}});
  const auto json = to_json(table.snapshot().at(0));
  EXPECT_EQ(json["protocol"], "ms-turn");
  EXPECT_EQ(json["client"], "192.0.2.1:40000");
  EXPECT_EQ(json["server"], "192.0.2.2:443");
  EXPECT_EQ(json["state"], "accepted");
  EXPECT_EQ(json["verdict"], "pending");
  EXPECT_EQ(json["inspector"]["brief"], "brief");
  EXPECT_EQ(json["inspector"]["detail"]["k"], "v");
  EXPECT_EQ(json["start"].get<std::string>().size(), 24u);  // 2026-11-21T00:00:00.000Z
  EXPECT_TRUE(json.contains("bytes_from_client"));
  EXPECT_TRUE(json.contains("last_activity"));
  // Bytes from the wire in the detail need not be UTF-8: replaced, never an exception.
  table.set_inspection(entry, "raw", nlohmann::json{{"user_agent", std::string("a\xff\xfe b")}});
  const auto raw = to_json(table.snapshot().at(0));
  EXPECT_EQ(raw["inspector"]["detail"]["user_agent"], "a\xef\xbf\xbd\xef\xbf\xbd b");
}

// An idle session keeps its last inspection for `wirebump sessions`: the serialised detail is
// held at its length, not at the serialiser's doubled growth (an idle HTTPS session kept ~1 KiB
// for ~0.6 KiB of text), and a smaller update gives the larger one back.
TEST(SessionTable, InspectionIsHeldAtItsSize) {
  SessionTable table(1);
  auto* entry = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:443"));
  EXPECT_EQ(table.inspection_bytes(entry), 2 * std::string().capacity());
  nlohmann::json detail = nlohmann::json::object();
  for (int i = 0; i < 40; ++i) detail["field_" + std::to_string(i)] = std::string(13, 'x');
  const std::size_t text = detail.dump().size();  // 40 x 25 bytes + braces and commas
  ASSERT_GT(text, 1000u);
  table.set_inspection(entry, "http GET www.example.test", detail);
  EXPECT_EQ(table.inspection_bytes(entry), text + std::string("http GET www.example.test").size());
  EXPECT_EQ(to_json(table.snapshot().at(0))["inspector"]["detail"], detail);
  table.set_inspection(entry, "b", nlohmann::json{{"k", "v"}});
  EXPECT_LT(table.inspection_bytes(entry), 64u);
  EXPECT_EQ(to_json(table.snapshot().at(0))["inspector"]["detail"]["k"], "v");
}

TEST(SessionTable, CloseLogsOneUpperCaseLine) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  SessionTable table(4);
  auto* entry = table.open(ep("192.0.2.1:40000"), ep("192.0.2.2:5061"));
  table.set_protocol(entry, Protocol::kSips);
  table.set_verdict(entry, Verdict::kTunnel, "client certificate requested");
  entry->add_from_client(10, Clock::now());
  entry->add_from_server(20, Clock::now());
  table.close(entry, "");  // keeps the reason set before
  spdlog::set_default_logger(previous);
  const std::string line = out.str();
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_NE(line.find("192.0.2.1:40000 -> 192.0.2.2:5061 SIPS"), std::string::npos) << line;
  EXPECT_NE(line.find("verdict=tunnel"), std::string::npos) << line;
  EXPECT_NE(line.find("up=10 down=20"), std::string::npos) << line;
  EXPECT_NE(line.find("duration="), std::string::npos) << line;
  EXPECT_NE(line.find("reason=\"client certificate requested\""), std::string::npos) << line;
  EXPECT_EQ(table.active(), 0u);
}

TEST(SessionTable, ConcurrentWorkersAndSnapshotsStayConsistent) {
  SessionTable table(64);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      for (const auto& record : table.snapshot()) {
        // Each writer adds equal amounts both ways; a torn copy could not break this by much,
        // but a dangling entry would crash under ASAN.
        EXPECT_LE(record.bytes_from_client, 1000u * 100u);
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&table, w] {
      for (int i = 0; i < 200; ++i) {
        auto* entry = table.open(Endpoint::loopback_v4(static_cast<std::uint16_t>(w * 1000 + i)),
                                 ep("192.0.2.2:443"));
        if (entry == nullptr) continue;
        for (int k = 0; k < 100; ++k) entry->add_from_client(1000, Clock::now());
        table.set_protocol(entry, Protocol::kHttps);
        table.close(entry, "done");
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done = true;
  reader.join();
  EXPECT_EQ(table.active(), 0u);
  EXPECT_EQ(table.opened() + table.refused(), 800u);
}

TEST(SessionTypes, LabelsRoundTrip) {
  const std::vector<std::pair<Protocol, std::string>> expected = {
      {Protocol::kHttps, "https"},   {Protocol::kHttp, "http"},      {Protocol::kSips, "sips"},
      {Protocol::kSip, "sip"},       {Protocol::kMsTurn, "ms-turn"}, {Protocol::kTurn, "turn"},
      {Protocol::kTunnel, "tunnel"}, {Protocol::kUnknown, "unknown"}};
  for (const auto& [protocol, text] : expected) {
    EXPECT_EQ(label(protocol), text);
    EXPECT_EQ(parse_protocol(text), protocol);
    std::string upper = text;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(log_label(protocol), upper);
    EXPECT_EQ(parse_protocol(upper), protocol);
  }
  EXPECT_FALSE(parse_protocol("ms_turn").has_value());
  EXPECT_FALSE(parse_protocol("").has_value());
  EXPECT_EQ(protocol_choices(), "https, http, sips, sip, ms-turn, turn, tunnel or unknown");
}

TEST(Endpoint, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(ep("192.0.2.1:443").to_string(), "192.0.2.1:443");
  EXPECT_EQ(ep("[2001:db8::1]:5061").to_string(), "[2001:db8::1]:5061");
  EXPECT_EQ(ep("[2001:db8::1]:5061").with_port(0).port(), 0);
  EXPECT_TRUE(ep("[2001:db8::1]:5061").is_v6());
  for (const char* bad : {"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:4a3",
                          "[2001:db8::1]", "[2001:db8::1]443", "host:443", "[::1:443"}) {
    EXPECT_FALSE(Endpoint::parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace wb::session

namespace wb::session {
namespace {

TEST(Endpoint, EveryPrefixOfAValidEndpointParsesOrFailsCleanly) {
  for (const std::string full :
       {"192.0.2.1:443", "[2001:db8::1]:5061", "[::]:0", "0.0.0.0:65535"}) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      const auto parsed = Endpoint::parse(std::string_view(full).substr(0, n));
      if (n == full.size()) {
        ASSERT_TRUE(parsed.ok()) << full;
        EXPECT_EQ(parsed->to_string(), full);
      } else if (parsed.ok()) {
        // A shorter port is still a valid endpoint ("192.0.2.1:44"); it must print back the same.
        EXPECT_EQ(parsed->to_string(), full.substr(0, n)) << n;
      }
    }
  }
}

}  // namespace
}  // namespace wb::session
