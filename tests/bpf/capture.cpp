#include "tests/bpf/capture.h"

#include <pcap/pcap.h>

#include <memory>

namespace wb::test {
namespace {

constexpr std::uint16_t kIpv4 = 0x0800;
constexpr std::uint16_t kIpv6 = 0x86dd;

// BSD loopback family values for IPv6 differ by OS (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS).
std::uint16_t null_family_ethertype(std::uint32_t family) {
  if (family == 2) return kIpv4;
  if (family == 24 || family == 28 || family == 30) return kIpv6;
  return 0;
}

std::uint16_t raw_ethertype(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  return (data[0] >> 4) == 6 ? kIpv6 : kIpv4;
}

}  // namespace

Result<std::vector<Bytes>> read_capture_frames(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> pcap(pcap_open_offline(path.c_str(), err), pcap_close);
  if (!pcap) return make_error(std::errc::invalid_argument, "open " + path + ": " + err);
  int link = pcap_datalink(pcap.get());
  std::vector<Bytes> frames;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1) {
    std::size_t n = header->caplen;
    switch (link) {
      case DLT_EN10MB:
        frames.emplace_back(data, data + n);
        break;
      case DLT_LINUX_SLL:  // 16-byte cooked header, protocol in the last two bytes
        if (n >= 16) frames.push_back(ethernet_wrap((data[14] << 8) | data[15], data + 16, n - 16));
        break;
      case DLT_NULL:
      case DLT_LOOP: {
        if (n < 4) break;
        std::uint32_t family =
            link == DLT_LOOP
                ? (std::uint32_t(data[0]) << 24 | data[1] << 16 | data[2] << 8 | data[3])
                : (std::uint32_t(data[3]) << 24 | data[2] << 16 | data[1] << 8 | data[0]);
        if (family > 0xffff) family = __builtin_bswap32(family);  // written on the other endianness
        if (std::uint16_t et = null_family_ethertype(family))
          frames.push_back(ethernet_wrap(et, data + 4, n - 4));
        break;
      }
      case DLT_RAW:
        frames.push_back(ethernet_wrap(raw_ethertype(data, n), data, n));
        break;
      default:
        return make_error(std::errc::not_supported,
                          path + ": link type " + std::to_string(link) + " not supported");
    }
  }
  if (rc == PCAP_ERROR)
    return make_error(std::errc::io_error, path + ": " + pcap_geterr(pcap.get()));
  return frames;
}

}  // namespace wb::test
