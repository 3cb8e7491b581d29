#include "tests/peek/samples.h"
#include "tests/support/build_paths.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace wb::test {

std::string testdata(std::string_view relative) {
  return std::string(WB_TESTDATA_DIR) + "/" + std::string(relative);
}

std::vector<std::string> all_captures() {
  std::vector<std::string> out;
  const std::filesystem::path root(WB_TESTDATA_DIR);
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) {
      out.push_back(std::filesystem::relative(e.path(), root).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

replay::FlowTable flows_of(std::string_view relative, replay::Capture* keep) {
  auto cap = replay::read_capture(testdata(relative));
  EXPECT_TRUE(cap.ok()) << relative << ": " << (cap.ok() ? "" : cap.error().message());
  if (!cap.ok()) return {};
  EXPECT_TRUE(cap->warnings.empty()) << relative << ": " << cap->warnings.front();
  replay::FlowTable t = replay::build_flows(*cap);
  if (keep != nullptr) *keep = std::move(*cap);
  return t;
}

Bytes client_bytes(const replay::Flow& flow) {
  auto b = flow.to_server.contiguous();
  return {b.begin(), b.end()};
}
Bytes server_bytes(const replay::Flow& flow) {
  auto b = flow.to_client.contiguous();
  return {b.begin(), b.end()};
}

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) continue;
    const int v =
        std::isdigit(static_cast<unsigned char>(c)) != 0 ? c - '0' : std::tolower(c) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

Bytes text(std::string_view s) {
  return {s.begin(), s.end()};
}

Bytes records(std::span<const std::uint8_t> handshake, const std::vector<std::size_t>& cuts,
              std::uint16_t version) {
  Bytes out;
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(handshake.size());
  for (std::size_t end : ends) {
    const std::size_t len = end - from;
    out.insert(
        out.end(),
        {0x16, static_cast<std::uint8_t>(version >> 8), static_cast<std::uint8_t>(version & 0xff),
         static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len & 0xff)});
    out.insert(out.end(), handshake.begin() + static_cast<std::ptrdiff_t>(from),
               handshake.begin() + static_cast<std::ptrdiff_t>(end));
    from = end;
  }
  return out;
}

namespace {
void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v & 0xff));
}
}  // namespace

Bytes client_hello_message(std::string_view sni,
                           const std::vector<std::pair<std::uint16_t, Bytes>>& extra) {
  Bytes exts;
  if (!sni.empty()) {
    put16(exts, 0);
    put16(exts, sni.size() + 5);
    put16(exts, sni.size() + 3);
    exts.push_back(0);
    put16(exts, sni.size());
    exts.insert(exts.end(), sni.begin(), sni.end());
  }
  for (const auto& [type, data] : extra) {
    put16(exts, type);
    put16(exts, data.size());
    exts.insert(exts.end(), data.begin(), data.end());
  }
  Bytes body = {0x03, 0x03};
  body.insert(body.end(), 32, 0x5a);                  // random
  body.push_back(0);                                  // session id
  body.insert(body.end(), {0x00, 0x02, 0x13, 0x01});  // one suite
  body.insert(body.end(), {0x01, 0x00});              // null compression
  put16(body, exts.size());
  body.insert(body.end(), exts.begin(), exts.end());
  Bytes msg = {0x01, static_cast<std::uint8_t>(body.size() >> 16),
               static_cast<std::uint8_t>(body.size() >> 8 & 0xff),
               static_cast<std::uint8_t>(body.size() & 0xff)};
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}

Bytes handshake_of(std::span<const std::uint8_t> hello) {
  const std::size_t len = 4 + (static_cast<std::size_t>(hello[6]) << 16 |
                               static_cast<std::size_t>(hello[7]) << 8 | hello[8]);
  return {hello.begin() + 5, hello.begin() + 5 + static_cast<std::ptrdiff_t>(len)};
}

}  // namespace wb::test
