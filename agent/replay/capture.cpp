// libpcap reads both pcap and pcapng; we only wrap its C API in RAII and turn its failures into
// wb::Error values and warnings.
#include "agent/replay/capture.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <memory>

namespace wb::replay {
namespace {

struct PcapClose {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapClose>;

Result<Capture> read_all(pcap_t* pcap, const ReadLimits& limits) {
  Capture cap;
  cap.link_type = pcap_datalink(pcap);
  const char* name = pcap_datalink_val_to_name(cap.link_type);
  cap.link_name = name != nullptr ? name : "DLT " + std::to_string(cap.link_type);
  cap.snaplen = pcap_snapshot(pcap);
  if (!link_type_supported(cap.link_type)) {
    return make_error(std::errc::not_supported,
                      "link type " + cap.link_name + " (" + std::to_string(cap.link_type) +
                          ") is not supported; supported: Ethernet, Linux cooked (SLL, SLL2), "
                          "raw IP, BSD loopback");
  }
  std::size_t bytes = 0, cut = 0;
  while (true) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      // Corrupt or truncated: keep what came before.
      cap.damaged = true;
      cap.warnings.push_back("capture damaged after frame " + std::to_string(cap.frames.size()) +
                             ": " + pcap_geterr(pcap));
      break;
    }
    if (cap.frames.size() >= limits.max_frames || bytes + hdr->caplen > limits.max_bytes) {
      cap.warnings.push_back("stopped after " + std::to_string(cap.frames.size()) +
                             " frames: replay size limit reached");
      break;
    }
    Frame f;
    f.number = cap.frames.size() + 1;
    f.ts_usec = static_cast<std::int64_t>(hdr->ts.tv_sec) * 1'000'000 + hdr->ts.tv_usec;
    f.orig_len = hdr->len;
    f.data.assign(data, data + hdr->caplen);
    if (f.cut()) ++cut;
    bytes += hdr->caplen;
    cap.frames.push_back(std::move(f));
  }
  if (cut != 0) {
    cap.warnings.push_back(std::to_string(cut) + " frames cut by the snapshot length (" +
                           std::to_string(cap.snaplen) + "): their flows may be incomplete");
  }
  if (cap.frames.empty() && !cap.warnings.empty()) {
    return make_error(std::errc::invalid_argument, "no readable frame: " + cap.warnings.front());
  }
  return cap;
}

}  // namespace

bool link_type_supported(int dlt) {
  switch (static_cast<LinkType>(dlt)) {
    case LinkType::kNull:
    case LinkType::kEthernet:
    case LinkType::kRaw:
    case LinkType::kRawAlt:
    case LinkType::kLoop:
    case LinkType::kLinuxSll:
    case LinkType::kIpv4:
    case LinkType::kIpv6:
    case LinkType::kLinuxSll2:
      return true;
  }
  return false;
}

Result<Capture> read_capture(const std::string& path, const ReadLimits& limits) {
  char err[PCAP_ERRBUF_SIZE] = {};
  PcapPtr pcap(pcap_open_offline(path.c_str(), err));
  if (!pcap) return make_error(std::errc::invalid_argument, "open capture " + path + ": " + err);
  auto cap = read_all(pcap.get(), limits);
  if (!cap.ok()) return cap.error().wrap("read capture " + path);
  return cap;
}

Result<Capture> read_capture(std::span<const std::uint8_t> bytes, const ReadLimits& limits) {
  if (bytes.empty()) return make_error(std::errc::invalid_argument, "empty capture");
  // fmemopen needs a mutable buffer even for reading; pcap_close closes the FILE.
  std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  FILE* file = fmemopen(copy.data(), copy.size(), "rb");
  if (file == nullptr) return errno_error("fmemopen");
  char err[PCAP_ERRBUF_SIZE] = {};
  PcapPtr pcap(pcap_fopen_offline(file, err));
  if (!pcap) {
    std::fclose(file);
    return make_error(std::errc::invalid_argument, std::string("open capture: ") + err);
  }
  return read_all(pcap.get(), limits);
}

}  // namespace wb::replay
