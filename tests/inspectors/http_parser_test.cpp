// HTTP/1.x and HTTP/2 framing: pipelined keep-alive exchanges, chunked bodies with trailers, HEAD,
// 100-continue, the h2 preface and frames, Alt-Svc h3 stripping; every split point; garbage.
#include <gtest/gtest.h>

#include <random>

#include "inspectors/http/alt_svc.h"
#include "inspectors/http/http_stream.h"
#include "tests/inspectors/samples.h"
#include "tests/inspectors/split_check.h"

namespace wb::test {
namespace {

using http::HttpStream;
using http::Role;
using http::Step;
using Span = std::span<const std::uint8_t>;

// Runs one direction; the response side is told the request methods first (as the inspector does).
RunResult run_http(Role role, const std::vector<std::string>& methods,
                   const std::vector<Span>& chunks) {
  HttpStream stream(role);
  for (const auto& method : methods) stream.push_request(method);
  RunResult result;
  for (Span chunk : chunks) {
    while (!chunk.empty()) {
      Step step = stream.feed(chunk);
      EXPECT_LE(step.consumed, chunk.size());
      chunk = chunk.subspan(step.consumed);
      switch (step.kind) {
        case Step::Kind::kHead: {
          const http::Head& head = stream.head();
          result.events.push_back(
              head.is_request ? "req " + std::string(head.method) + " " + std::string(head.target) +
                                    " host=" + std::string(head.header("host").value_or("-"))
                              : "res " + std::to_string(head.status) + " type=" +
                                    std::string(head.header("Content-Type").value_or("-")));
          break;
        }
        case Step::Kind::kH2Preface:
          result.events.push_back("h2 preface");
          break;
        case Step::Kind::kH2FrameHeader:
          result.events.push_back("h2 frame type=" + std::to_string(stream.frame().type) +
                                  " len=" + std::to_string(stream.frame().length) +
                                  " stream=" + std::to_string(stream.frame().stream_id));
          break;
        case Step::Kind::kError:
          result.failed = true;
          result.events.push_back("error: " + std::string(stream.error()));
          return result;
        default:
          break;
      }
      if (step.end) result.events.push_back("end body=" + std::to_string(stream.body_bytes()));
      if (step.kind == Step::Kind::kNeedMore) break;
    }
  }
  return result;
}

TEST(HttpParser, PipelinedKeepAliveExchanges) {
  Flow flow = http1_flow();
  auto requests = flow.stream(inspect::Direction::kClientToServer);
  auto responses = flow.stream(inspect::Direction::kServerToClient);
  RunResult up = run_http(Role::kRequest, {}, {Span(requests)});
  ASSERT_FALSE(up.failed) << up;
  EXPECT_EQ(up.events,
            (std::vector<std::string>{"req GET /index.html host=www.example.com", "end body=0",
                                      "req HEAD /big host=www.example.com", "end body=0",
                                      "req POST /upload host=www.example.com", "end body=11"}));
  std::vector<std::string> methods = {"GET", "HEAD", "POST"};
  RunResult down = run_http(Role::kResponse, methods, {Span(responses)});
  ASSERT_FALSE(down.failed) << down;
  EXPECT_EQ(down.events, (std::vector<std::string>{"res 200 type=text/html", "end body=12",
                                                   "res 200 type=application/octet-stream",
                                                   "end body=0", "res 100 type=-", "end body=0",
                                                   "res 201 type=text/plain", "end body=2"}));
  expect_chunking_invariant(requests, [](auto c) { return run_http(Role::kRequest, {}, c); });
  expect_chunking_invariant(responses,
                            [&](auto c) { return run_http(Role::kResponse, methods, c); });
}

TEST(HttpParser, Http2PrefaceAndFrames) {
  Flow flow = http2_flow();
  auto client = flow.stream(inspect::Direction::kClientToServer);
  auto server = flow.stream(inspect::Direction::kServerToClient);
  RunResult up = run_http(Role::kRequest, {}, {Span(client)});
  EXPECT_EQ(up.events, (std::vector<std::string>{"h2 preface", "h2 frame type=4 len=12 stream=0",
                                                 "h2 frame type=1 len=30 stream=1"}));
  RunResult down = run_http(Role::kResponse, {}, {Span(server)});
  ASSERT_EQ(down.events.size(), 5u) << down;
  EXPECT_EQ(down.events[2], "h2 frame type=10 len=26 stream=0");
  EXPECT_EQ(down.events[4], "h2 frame type=0 len=500 stream=1");
  expect_chunking_invariant(client, [](auto c) { return run_http(Role::kRequest, {}, c); });
  expect_chunking_invariant(server, [](auto c) { return run_http(Role::kResponse, {}, c); });
}

TEST(HttpParser, AltSvcH3IsStripped) {
  EXPECT_EQ(http::strip_h3("h3=\":443\"; ma=86400, h2=\":443\"; ma=60"), "h2=\":443\"; ma=60");
  EXPECT_EQ(http::strip_h3("h3-29=\":443\", h3-Q050=\":443\", quic=\":443\""), "");
  EXPECT_EQ(http::strip_h3("h2=\"alt.example.com:443\""), "h2=\"alt.example.com:443\"");
  EXPECT_EQ(http::strip_h3("clear"), "clear");
  std::string out;
  EXPECT_EQ(
      http::rewrite_head_without_h3("HTTP/1.1 200 OK\r\nAlt-Svc: h3=\":443\"\r\nX: y\r\n\r\n", out),
      1);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nX: y\r\n\r\n");
  EXPECT_EQ(http::rewrite_head_without_h3(
                "HTTP/1.1 200 OK\r\nalt-svc: h2=\":1\", h3=\":1\"\r\n\r\n", out),
            1);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nAlt-Svc: h2=\":1\"\r\n\r\n");
  EXPECT_EQ(http::rewrite_head_without_h3("HTTP/1.1 200 OK\r\nAlt-Svc: h2=\":1\"\r\n\r\n", out), 0);
}

TEST(HttpParser, ErrorsAndLimits) {
  for (std::string bad :
       {"GET / HTTP/3.0\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto data = bytes_of(bad);
    EXPECT_TRUE(run_http(Role::kRequest, {}, {Span(data)}).failed) << bad;
  }
  http::Limits limits;
  limits.max_head_bytes = 512;
  HttpStream stream(Role::kRequest, limits);
  auto big = bytes_of("GET / HTTP/1.1\r\nX: " + std::string(1000, 'a'));
  Step step = stream.feed(big);
  EXPECT_EQ(step.kind, Step::Kind::kError);
  EXPECT_EQ(stream.held().size(), 512u);  // what was held is still available to pass through
}

TEST(HttpParser, GarbageNeverCrashes) {
  std::mt19937 rng(5);
  std::vector<std::vector<std::uint8_t>> seeds = {
      http1_flow().stream(inspect::Direction::kServerToClient),
      http1_flow().stream(inspect::Direction::kClientToServer),
      http2_flow().stream(inspect::Direction::kServerToClient)};
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::uint8_t> data = seeds[round % 3];
    for (int e = 0; e < 1 + static_cast<int>(rng() % 6); ++e)
      data[rng() % data.size()] = static_cast<std::uint8_t>(rng());
    std::size_t cut = rng() % (data.size() + 1);
    run_http(round % 2 ? Role::kRequest : Role::kResponse, {"GET"},
             {Span(data).first(cut), Span(data).subspan(cut)});
  }
}

}  // namespace
}  // namespace wb::test
