// wb_inspector_seeds OUTDIR [TESTDATA_DIR]: writes the fuzzers' seed corpora at build time, in
// the fuzz_input.h layout: every crafted flow direction (tests/inspectors/samples.cpp) and, when
// the third-party captures are present, their SIP and STUN payloads. Nothing is committed.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tests/inspectors/capture_streams.h"
#include "tests/inspectors/h2_wire.h"
#include "tests/inspectors/samples.h"

namespace {

namespace fs = std::filesystem;

void write_seed(const fs::path& dir, const std::string& name, std::uint8_t chunk,
                std::uint8_t flags, const std::vector<std::uint8_t>& stream) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.put(static_cast<char>(chunk));
  out.put(static_cast<char>(flags));
  out.write(reinterpret_cast<const char*>(stream.data()),
            static_cast<std::streamsize>(stream.size()));
}

std::string folder_of(const std::string& protocol) {
  if (protocol == "sip" || protocol == "sips") return "sip";
  if (protocol == "turn" || protocol == "ms-turn") return "turn";
  return "http";
}

// HTTP/2 server streams whose header blocks carry Alt-Svc h3, HPACK-encoded by libnghttp2 with
// its dynamic table, CONTINUATION, padding, priority, PUSH_PROMISE and a table size change.
std::size_t write_h2_seeds(const fs::path& dir) {
  using namespace wb::test::h2;
  Encoder hpack;
  Fields response = {{":status", "200"},
                     {"content-type", "text/html"},
                     {"alt-svc", "h3=\":443\"; ma=86400, h2=\":443\""},
                     {"set-cookie", "id=1", true}};
  Bytes stream = settings({});
  auto add = [&](const Bytes& bytes) { stream.insert(stream.end(), bytes.begin(), bytes.end()); };
  add(settings_ack());
  add(header_frames(1, hpack.block(response), {}));
  add(data(1, "hello", true));
  HeaderFrames split;
  split.fragment = 8;
  split.pad = 4;
  split.priority = true;
  add(header_frames(3, hpack.block(response), split));
  HeaderFrames promise;
  promise.type = 0x5;
  promise.promised = 2;
  add(header_frames(3, hpack.block({{":method", "GET"}, {":path", "/a"}}), promise));
  hpack.change_table_size(256);
  add(header_frames(5, hpack.block({{":status", "204"}, {"alt-svc", "h3-29=\":443\""}}), {}));
  std::size_t count = 0;
  // options: bit 0 ALPN h2, bit 1 client preface first, bits 2-3 its table size (256 = 2).
  for (std::uint8_t options : {1, 3, 3 | (2 << 2)}) {
    for (std::uint8_t chunk : {0, 5, 64}) {
      write_seed(dir, "h2-hpack-" + std::to_string(options) + "-" + std::to_string(chunk), chunk,
                 static_cast<std::uint8_t>(1 | (options << 1)), stream);
      ++count;
    }
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: wb_inspector_seeds OUTDIR [TESTDATA_DIR]\n";
    return 2;
  }
  fs::path out = argv[1];
  std::size_t count = 0;
  for (const auto& flow : wb::test::all_flows()) {
    for (int side = 0; side < 2; ++side) {
      auto direction =
          side ? wb::inspect::Direction::kServerToClient : wb::inspect::Direction::kClientToServer;
      auto stream = flow.stream(direction);
      if (stream.empty()) continue;
      std::uint8_t flags = static_cast<std::uint8_t>(side | (flow.protocol == "turn" ? 2 : 0));
      for (std::uint8_t chunk : {0, 7, 64}) {
        write_seed(out / folder_of(flow.protocol),
                   flow.name + "-" + std::to_string(side) + "-" + std::to_string(chunk), chunk,
                   flags, stream);
        ++count;
      }
    }
  }
  count += write_h2_seeds(out / "http");
  if (argc > 2 && fs::exists(argv[2])) {
    fs::path testdata = argv[2];
    for (const char* capture : {"suricata-verify/sip-tcp-pattern-matching_sip.pcap",
                                "suricata-verify/sip-body-large_sip-body-large.pcap"}) {
      auto streams = wb::test::read_streams((testdata / capture).string());
      for (std::size_t i = 0; i < streams.tcp.size(); ++i) {
        std::string base = fs::path(capture).stem().string() + "-" + std::to_string(i);
        write_seed(out / "sip", base + "-c", 0, 0, streams.tcp[i].to_server);
        write_seed(out / "sip", base + "-s", 0, 1, streams.tcp[i].to_client);
        count += 2;
      }
    }
    auto sip_udp = wb::test::read_streams((testdata / "ndpi/sip.pcap").string());
    for (std::size_t i = 0; i < sip_udp.udp.size() && i < 20; ++i) {
      write_seed(out / "sip", "ndpi-sip-" + std::to_string(i), 0, 0, sip_udp.udp[i].bytes);
      ++count;
    }
    auto stun = wb::test::read_streams((testdata / "ndpi/stun_classic.pcap").string());
    for (std::size_t i = 0; i < stun.udp.size() && i < 4; ++i) {
      write_seed(out / "turn", "ndpi-stun-" + std::to_string(i), 0, 2, stun.udp[i].bytes);
      ++count;
    }
  }
  std::cout << "wrote " << count << " seeds under " << out << "\n";
  return 0;
}
