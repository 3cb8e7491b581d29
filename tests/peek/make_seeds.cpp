// Writes fuzzing seed corpora generated from the third-party captures (never committed):
//   <out>/peek/  every flow's client and server first bytes and every UDP datagram;
//   <out>/pcap/  every capture file whole and cut at a few points (damaged captures).
// Usage: make_seeds TESTDATA_DIR OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "agent/replay/flows.h"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TESTDATA_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out(argv[2]);
  fs::create_directories(out / "peek");
  fs::create_directories(out / "pcap");
  std::size_t peek_seeds = 0, pcap_seeds = 0;
  for (const auto& e : fs::recursive_directory_iterator(argv[1])) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) continue;
    const std::string stem = e.path().filename().string();
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
    for (std::size_t cut : {file.size(), file.size() / 2, std::size_t{200}}) {
      if (cut > file.size() || cut > 32768) continue;  // keep pcap seeds small and fast
      write(out / "pcap" / (stem + "." + std::to_string(cut)), file.data(), cut);
      ++pcap_seeds;
    }
    auto cap = wb::replay::read_capture(e.path().string());
    if (!cap.ok()) {
      std::fprintf(stderr, "%s\n", cap.error().message().c_str());
      return 1;
    }
    const auto table = wb::replay::build_flows(*cap);
    for (std::size_t i = 0; i < table.flows.size(); ++i) {
      const auto& f = table.flows[i];
      const std::string base = stem + ".flow" + std::to_string(i);
      for (auto [name, dir] : {std::pair{".c", &f.to_server}, std::pair{".s", &f.to_client}}) {
        const auto bytes =
            dir->contiguous().first(std::min<std::size_t>(dir->contiguous().size(), 16384));
        if (bytes.empty()) continue;
        write(out / "peek" / (base + name), bytes.data(), bytes.size());
        ++peek_seeds;
      }
      for (std::size_t d = 0; d < f.datagrams.size(); ++d) {
        write(out / "peek" / (base + ".d" + std::to_string(d)), f.datagrams[d].bytes.data(),
              f.datagrams[d].bytes.size());
        ++peek_seeds;
      }
    }
  }
  std::printf("%zu peek seeds, %zu pcap seeds in %s\n", peek_seeds, pcap_seeds, argv[2]);
  return peek_seeds != 0 && pcap_seeds != 0 ? 0 : 1;
}
