// libFuzzer target: HTTP/1.x + HTTP/2 framing, Alt-Svc rewriting, and the HTTP inspector's
// filter(): with QUIC blocking it may only ever drop Alt-Svc h3 entries / ALTSVC frames, so the
// output is never longer than the input plus what rewriting can add, and never empty for a
// complete, unchanged message.
#include <string>
#include <vector>

#include "inspectors/http/alt_svc.h"
#include "inspectors/http/http_inspector.h"
#include "inspectors/http/http_stream.h"
#include "tests/inspectors/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wb;
  test::FuzzInput input = test::split_fuzz_input(data, size);
  http::Limits limits;
  limits.max_head_bytes = 4096;
  http::HttpStream stream(input.from_server ? http::Role::kResponse : http::Role::kRequest, limits);
  stream.push_request("GET");
  stream.push_request("HEAD");
  http::InspectorOptions options;
  options.block_quic = true;
  options.alpn_h2 = input.options & 1;
  options.limits = limits;
  http::HttpInspector inspector("https", options);
  auto direction =
      input.from_server ? inspect::Direction::kServerToClient : inspect::Direction::kClientToServer;
  std::vector<std::uint8_t> out;
  test::for_each_chunk(input, [&](std::span<const std::uint8_t> chunk) {
    std::span<const std::uint8_t> rest = chunk;
    while (!rest.empty()) {
      http::Step step = stream.feed(rest);
      if (step.consumed > rest.size()) __builtin_trap();
      if (step.kind == http::Step::Kind::kNeedMore && step.consumed != rest.size())
        __builtin_trap();
      rest = rest.subspan(step.consumed);
      if (step.kind == http::Step::Kind::kNeedMore || step.kind == http::Step::Kind::kError) break;
    }
    inspector.filter(direction, chunk, out);
  });
  // Client bytes are never edited; server bytes only lose Alt-Svc h3 parts (a rewritten header
  // line is at most as long as the original plus the canonical "Alt-Svc: " spelling).
  if (!input.from_server && out.size() != input.stream.size()) __builtin_trap();
  (void)inspector.brief();
  (void)inspector.detail().dump();
  std::string text(input.stream.begin(), input.stream.end());
  std::string rewritten;
  (void)http::rewrite_head_without_h3(text, rewritten);
  (void)http::strip_h3(text);
  return 0;
}
