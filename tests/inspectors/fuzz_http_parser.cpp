// libFuzzer target: HTTP/1.x + HTTP/2 framing, Alt-Svc rewriting, and the HTTP inspector's
// filter() with QUIC blocking on. Client bytes are never edited. For HTTP/2 server streams
// (options bit 0 = ALPN h2; bit 1 = a client preface + SETTINGS_HEADER_TABLE_SIZE from bits 2-3
// goes first) whose header blocks were all rewritten without error, the output must decode as
// a client decodes it (HPACK state consistent) and advertise no h3 in any Alt-Svc field.
#include <cstdint>
#include <string>
#include <vector>

#include "inspectors/http/alt_svc.h"
#include "inspectors/http/http_inspector.h"
#include "inspectors/http/http_stream.h"
#include "tests/inspectors/fuzz_input.h"
#include "tests/inspectors/h2_wire.h"

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
  const bool client_first = input.from_server && (input.options & 2);
  const std::uint32_t table_sizes[] = {4096, 0, 256, 65536};
  const std::uint32_t client_table = table_sizes[(input.options >> 2) & 3];
  if (client_first) {
    auto preface = test::h2::client_preface({{0x1, client_table}});
    std::vector<std::uint8_t> ignored;
    inspector.filter(inspect::Direction::kClientToServer, preface, ignored);
  }
  bool denied = false;
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
    if (!denied) denied = inspector.filter(direction, chunk, out).denied();
  });
  // Client bytes are never edited; server bytes only lose Alt-Svc h3 parts (a rewritten header
  // line is at most as long as the original plus the canonical "Alt-Svc: " spelling).
  if (!input.from_server && out.size() != input.stream.size()) __builtin_trap();
  const http::H2HeaderRewriter* rewriter = inspector.h2_rewriter();
  if (input.from_server && (input.options & 1) && rewriter && !denied && rewriter->errors() == 0) {
    std::vector<std::uint32_t> sizes;
    if (client_first) sizes.push_back(client_table);
    auto view = test::h2::decode_server_stream(out, sizes);
    if (!view.error.empty()) __builtin_trap();
    for (const auto& block : view.blocks) {
      for (const auto& field : block.fields) {
        if (field.name == "alt-svc" && http::advertises_h3(field.value)) __builtin_trap();
      }
    }
  }
  (void)inspector.brief();
  (void)inspector.detail().dump();
  std::string text(input.stream.begin(), input.stream.end());
  std::string rewritten;
  (void)http::rewrite_head_without_h3(text, rewritten);
  (void)http::strip_h3(text);
  return 0;
}
