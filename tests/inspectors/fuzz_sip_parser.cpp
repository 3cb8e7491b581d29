// libFuzzer target: SIP stream framing and message parsing, datagram parsing, and the SIP
// inspector, on arbitrary bytes in arbitrary chunkings. Invariants are checked with __builtin_trap.
#include <string>
#include <vector>

#include "inspectors/sip/sip_inspector.h"
#include "inspectors/sip/sip_stream.h"
#include "tests/inspectors/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wb;
  test::FuzzInput input = test::split_fuzz_input(data, size);
  sip::Limits limits;
  limits.max_head_bytes = 4096;  // small limits so the fuzzer reaches them
  limits.max_body_bytes = 8192;
  sip::StreamParser parser(limits);
  sip::InspectorOptions options;
  options.deny_malformed = input.options & 1;
  options.limits = limits;
  sip::SipInspector inspector("sips", options);
  auto direction =
      input.from_server ? inspect::Direction::kServerToClient : inspect::Direction::kClientToServer;
  test::for_each_chunk(input, [&](std::span<const std::uint8_t> chunk) {
    std::span<const std::uint8_t> rest = chunk;
    while (!rest.empty()) {
      sip::Step step = parser.feed(rest);
      if (step.consumed > rest.size()) __builtin_trap();
      if (step.kind == sip::Step::Kind::kNeedMore && step.consumed != rest.size()) __builtin_trap();
      if (step.kind == sip::Step::Kind::kMessage) {
        const sip::Message& m = parser.message();
        if (m.header_count > sip::kMaxHeaders) __builtin_trap();
        (void)m.header("Call-ID");
      }
      rest = rest.subspan(step.consumed);
      if (step.kind == sip::Step::Kind::kNeedMore || step.kind == sip::Step::Kind::kError) break;
      if (step.consumed == 0 && step.kind != sip::Step::Kind::kMessage) __builtin_trap();
    }
    inspector.on_data(direction, chunk);
  });
  (void)inspector.brief();
  (void)inspector.detail().dump();
  std::string datagram(input.stream.begin(), input.stream.end());
  sip::Message message;
  std::string_view error;
  (void)sip::parse_datagram(std::span<char>(datagram.data(), datagram.size()), message, error);
  return 0;
}
