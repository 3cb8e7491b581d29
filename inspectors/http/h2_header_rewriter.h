// Removing Alt-Svc h3 advertisements from HTTP/2 header blocks (server -> client), with the
// HPACK state kept right on both legs.
//
// HPACK (RFC 7541) is stateful: every header block may add entries to a dynamic table that later
// blocks refer to by index, and the decoder must mirror the encoder exactly. Once the bridge
// changes ONE header block, the client's decoder no longer mirrors the server's encoder, so every
// header block of the connection in that direction (HEADERS + CONTINUATION, PUSH_PROMISE +
// CONTINUATION) is decoded with an inflater that tracks the server's encoder and re-encoded with
// our own deflater, which the client's decoder then tracks. Both are libnghttp2's HPACK API.
//
// What our encoder may do is set by the client's SETTINGS (RFC 9113 6.5.2), seen in the
// client -> server stream: SETTINGS_HEADER_TABLE_SIZE bounds our dynamic table, and
// SETTINGS_MAX_FRAME_SIZE bounds the frames we emit (blocks are split into CONTINUATION frames).
// A client's SETTINGS take effect when the server acknowledges them (RFC 9113 6.5.3): the
// server's SETTINGS ACK, in order in the server -> client stream, is where they apply to us too.
//
// Memory is bounded (one block of at most `max_block` encoded bytes and `max_decoded` decoded
// bytes at a time; tables of at most 4 KiB ours and `max_table` the server's). Malformed input is
// never a crash: before any block was re-encoded the held bytes go out unchanged and the rest of
// the direction passes through (the inspector's parse-error policy); after that the client's
// decoder depends on us, so the connection must be closed (deny).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inspectors/http/http_stream.h"
#include "inspectors/parse.h"

struct nghttp2_hd_inflater;
struct nghttp2_hd_deflater;

namespace wb::http {

// HTTP/2 frame types and flags used here (RFC 9113 6).
namespace h2 {
inline constexpr std::uint8_t kHeaders = 0x1;
inline constexpr std::uint8_t kSettings = 0x4;
inline constexpr std::uint8_t kPushPromise = 0x5;
inline constexpr std::uint8_t kContinuation = 0x9;
inline constexpr std::uint8_t kFlagEndStream = 0x1;
inline constexpr std::uint8_t kFlagAck = 0x1;
inline constexpr std::uint8_t kFlagEndHeaders = 0x4;
inline constexpr std::uint8_t kFlagPadded = 0x8;
inline constexpr std::uint8_t kFlagPriority = 0x20;
inline constexpr std::uint16_t kSettingsHeaderTableSize = 0x1;
inline constexpr std::uint16_t kSettingsMaxFrameSize = 0x5;
inline constexpr std::uint32_t kDefaultTableSize = 4096;
inline constexpr std::uint32_t kDefaultMaxFrameSize = 16384;
inline constexpr std::uint32_t kLargestMaxFrameSize = (1u << 24) - 1;
}  // namespace h2

struct HeaderRewriterLimits {
  std::size_t max_block = 256 * 1024;     // encoded header block (all its frames' payloads)
  std::size_t max_decoded = 1024 * 1024;  // decoded fields, RFC 7541 4.1 sizes (len + 32 each)
  std::uint32_t max_table = 64 * 1024;    // the server's dynamic table we are ready to mirror
};

class H2HeaderRewriter {
 public:
  // Null when libnghttp2 could not allocate its state (then nothing can be rewritten).
  static std::unique_ptr<H2HeaderRewriter> create(HeaderRewriterLimits limits = {});
  ~H2HeaderRewriter();
  H2HeaderRewriter(const H2HeaderRewriter&) = delete;
  H2HeaderRewriter& operator=(const H2HeaderRewriter&) = delete;

  // Client -> server (observed only): frame headers and payload bytes in order.
  void client_frame(const FrameHeader& frame);
  void client_payload(inspect::Bytes bytes);

  // Server -> client. begin_frame() gets every frame header (`raw` = its 9 bytes); true means
  // the rewriter took the frame: its header and payload are not forwarded by the caller, and
  // the caller passes the payload to frame_payload() and calls end_frame() once it is complete
  // (right away for an empty payload). Output goes to `out`. After an error check denied().
  bool begin_frame(const FrameHeader& frame, inspect::Bytes raw, std::vector<std::uint8_t>& out);
  void frame_payload(inspect::Bytes bytes, std::vector<std::uint8_t>& out);
  void end_frame(std::vector<std::uint8_t>& out);
  // The server stream stopped parsing mid-frame: applies the error policy to held bytes.
  void abort(std::string_view why, std::vector<std::uint8_t>& out);

  // Set once an error happened after a re-encoded block: the connection must be closed.
  const std::optional<std::string>& denied() const { return deny_; }
  bool passing_through() const { return passthrough_; }
  std::string_view error() const { return error_; }

  std::uint64_t blocks_rewritten() const { return blocks_rewritten_; }
  std::uint64_t alt_svc_changed() const { return alt_svc_changed_; }
  std::uint64_t errors() const { return errors_; }
  std::uint32_t encoder_table_size() const { return encoder_table_; }
  std::uint32_t max_frame_size() const { return max_frame_; }

 private:
  struct PendingSettings {  // one per client SETTINGS frame, applied at the server's ACK
    std::optional<std::uint32_t> table_size;
    std::optional<std::uint32_t> max_frame;
  };
  struct HeaderField {
    std::string name;
    std::string value;
    bool never_index = false;
  };

  H2HeaderRewriter(HeaderRewriterLimits limits, nghttp2_hd_inflater* inflater,
                   nghttp2_hd_deflater* deflater);
  void apply(const PendingSettings& settings);
  void fail(std::string why, std::vector<std::uint8_t>& out);
  bool take_fragment(inspect::Bytes payload, std::vector<std::uint8_t>& out);
  bool decode(std::vector<HeaderField>& fields, std::string& why);
  bool encode(const std::vector<HeaderField>& fields, std::vector<std::uint8_t>& block,
              std::string& why);
  void emit(const std::vector<std::uint8_t>& block, std::vector<std::uint8_t>& out) const;
  void reset_block();

  HeaderRewriterLimits limits_;
  nghttp2_hd_inflater* inflater_;
  nghttp2_hd_deflater* deflater_;
  std::uint32_t inflater_table_ = h2::kDefaultTableSize;
  std::uint32_t encoder_table_ = h2::kDefaultTableSize;
  std::uint32_t max_frame_ = h2::kDefaultMaxFrameSize;

  // Client SETTINGS being parsed, and those waiting for the server's ACK (bounded).
  static constexpr std::size_t kMaxPendingSettings = 16;
  bool client_settings_ = false;
  std::uint32_t client_remaining_ = 0;
  std::uint8_t entry_[6] = {};
  std::size_t entry_size_ = 0;
  PendingSettings parsing_;
  std::deque<PendingSettings> pending_;

  // The header block being collected (server -> client).
  bool in_block_ = false;               // a HEADERS / PUSH_PROMISE without END_HEADERS was taken
  bool in_frame_ = false;               // a taken frame's payload is arriving
  FrameHeader first_{};                 // the block's HEADERS / PUSH_PROMISE frame
  FrameHeader current_{};               // the taken frame whose payload is arriving
  std::vector<std::uint8_t> raw_;       // every taken frame as received (error policy)
  std::vector<std::uint8_t> payload_;   // the current frame's payload
  std::vector<std::uint8_t> fragment_;  // the header block fragment so far
  std::vector<std::uint8_t> prefix_;    // priority fields / promised stream id of the first frame
  std::uint8_t pad_length_ = 0;         // of the first frame (kept on the re-encoded one)

  bool passthrough_ = false;
  std::optional<std::string> deny_;
  std::string error_;
  std::uint64_t blocks_rewritten_ = 0;
  std::uint64_t alt_svc_changed_ = 0;
  std::uint64_t errors_ = 0;
};

}  // namespace wb::http
