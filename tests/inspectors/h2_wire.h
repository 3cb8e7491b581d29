// HTTP/2 on the wire for the tests, the fuzzer and its seeds: frames, a server-side HPACK encoder
// (libnghttp2's deflater, as a real server would use), and the client's view of a server ->
// client stream: every header block decoded by a fresh HPACK decoder that follows the stream the
// way a client does (SETTINGS_HEADER_TABLE_SIZE applied at the server's SETTINGS ACK).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct nghttp2_hd_deflater;

namespace wb::test::h2 {

using Bytes = std::vector<std::uint8_t>;

struct Field {
  std::string name;
  std::string value;
  bool never_index = false;
  bool operator==(const Field&) const = default;
};
using Fields = std::vector<Field>;

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

Bytes frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
            std::span<const std::uint8_t> payload);
Bytes settings(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values);
Bytes settings_ack();
Bytes data(std::uint32_t stream, std::string_view payload, bool end_stream);
// The client's connection preface followed by its SETTINGS.
Bytes client_preface(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values = {});

// The server's HPACK encoder.
class Encoder {
 public:
  explicit Encoder(std::size_t max_table = 4096);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  Bytes block(const Fields& fields);
  void change_table_size(std::size_t size);  // as on a client's SETTINGS_HEADER_TABLE_SIZE
  std::size_t dynamic_entries() const;       // entries in the dynamic table now

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

struct HeaderFrames {
  std::uint8_t type = 0x1;     // HEADERS or PUSH_PROMISE (0x5)
  bool end_stream = false;     // HEADERS only
  int pad = -1;                // >= 0: PADDED with that many bytes of padding
  bool priority = false;       // HEADERS: PRIORITY with fixed fields 80 00 00 07 2a
  std::uint32_t promised = 0;  // PUSH_PROMISE: the promised stream
  std::size_t fragment = 0;    // > 0: split the block into CONTINUATION frames of this size
};
// HEADERS / PUSH_PROMISE (+ CONTINUATION) frames carrying `block` on `stream`.
Bytes header_frames(std::uint32_t stream, const Bytes& block, const HeaderFrames& how = {});

// A header block as the client decoded it.
struct Block {
  std::uint8_t type = 0;
  std::uint32_t stream = 0;
  std::uint8_t flags = 0;  // of the first frame
  Bytes fields_prefix;     // priority fields / promised stream id
  int pad = -1;            // pad length of the first frame, -1 when not padded
  std::size_t frames = 0;  // HEADERS/PUSH_PROMISE + CONTINUATIONs
  Fields fields;
};
struct ClientView {
  std::vector<Block> blocks;
  std::vector<std::string> other_frames;  // "type:flags:stream:length" of every other frame
  std::string data;                       // DATA payloads, concatenated
  std::size_t largest_frame = 0;
  std::size_t leftover = 0;  // bytes after the last complete frame
  std::string error;         // "" when every header block decoded
};
// `table_sizes` (the client's SETTINGS_HEADER_TABLE_SIZE values, in order) are applied to the
// decoder one per SETTINGS ACK seen in the stream.
ClientView decode_server_stream(std::span<const std::uint8_t> bytes,
                                std::vector<std::uint32_t> table_sizes = {});

std::string to_string(const Fields& fields);

}  // namespace wb::test::h2
