// libFuzzer target: MS-TURN / TURN stream framing (both roles), STUN decoding in every dialect,
// address decoding, and the TURN inspector, on arbitrary bytes in arbitrary chunkings.
#include "inspectors/turn/pseudo_tls.h"
#include "inspectors/turn/stun_message.h"
#include "inspectors/turn/turn_inspector.h"
#include "inspectors/turn/turn_stream.h"
#include "tests/inspectors/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wb;
  test::FuzzInput input = test::split_fuzz_input(data, size);
  turn::TurnStream stream(input.from_server ? turn::Role::kServer : turn::Role::kClient);
  turn::TurnInspector inspector(input.options & 1 ? "turn" : "ms-turn");
  auto direction =
      input.from_server ? inspect::Direction::kServerToClient : inspect::Direction::kClientToServer;
  test::for_each_chunk(input, [&](std::span<const std::uint8_t> chunk) {
    std::span<const std::uint8_t> rest = chunk;
    while (!rest.empty()) {
      turn::Event event = stream.feed(rest);
      if (event.consumed > rest.size()) __builtin_trap();
      if (event.kind == turn::Event::Kind::kNeedMore && event.consumed != rest.size())
        __builtin_trap();
      if (event.kind == turn::Event::Kind::kMessage) {
        const turn::Message& m = stream.message();
        turn::XorKey key = turn::xor_key(m);
        for (std::size_t i = 0; i < m.attribute_count; ++i) {
          (void)turn::decode_address(m.attributes[i].value, &key);
          (void)turn::decode_address(m.attributes[i].value, nullptr);
        }
      }
      rest = rest.subspan(event.consumed);
      if (event.kind == turn::Event::Kind::kNeedMore || event.kind == turn::Event::Kind::kError)
        break;
    }
    inspector.on_data(direction, chunk);
  });
  (void)inspector.brief();
  (void)inspector.detail().dump();
  turn::Message message;
  std::string_view error;
  for (auto dialect : {turn::Dialect::kMsTurn, turn::Dialect::kRfc5389, turn::Dialect::kClassic}) {
    (void)turn::decode(input.stream, dialect, message, error);
  }
  (void)turn::check_pseudo_tls_client(input.stream);
  (void)turn::check_pseudo_tls_server(input.stream);
  return 0;
}
