// The HTTP / HTTPS inspector: HTTP/1.x exchanges (request line, Host, status, content type and
// length, chunked, keep-alive, pipelining) and HTTP/2 frame accounting. With QUIC blocking on it
// rewrites server responses: Alt-Svc h3 advertisements are removed from HTTP/1.x heads and from
// HTTP/2 header blocks (HPACK decoded and re-encoded, h2_header_rewriter.h), and HTTP/2 ALTSVC
// frames (type 0xa) are dropped, so clients stay on TCP/TLS that can be inspected.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "inspectors/http/h2_header_rewriter.h"
#include "inspectors/http/http_stream.h"
#include "inspectors/inspector.h"

namespace wb::http {

struct InspectorOptions {
  bool block_quic = false;  // strip Alt-Svc h3 (the rewrites()/filter() path)
  bool alpn_h2 = false;     // the TLS session negotiated h2
  Limits limits;
};

struct Exchange {
  std::string method;
  std::string target;
  std::string host;
  int status = 0;
  std::string content_type;
  std::uint64_t request_bytes = 0;   // body
  std::uint64_t response_bytes = 0;  // body
  bool chunked = false;
  bool complete = false;
};

class HttpInspector final : public inspect::Inspector {
 public:
  static constexpr std::size_t kMaxExchanges = 32;  // the most recent ones are kept

  HttpInspector(std::string label, InspectorOptions options);

  std::string_view protocol() const override { return label_; }
  inspect::Verdict on_data(inspect::Direction direction,
                           std::span<const std::uint8_t> bytes) override;
  bool rewrites() const override { return options_.block_quic; }
  inspect::Verdict filter(inspect::Direction direction, std::span<const std::uint8_t> in,
                          std::vector<std::uint8_t>& out) override;
  void on_close(inspect::Direction direction) override;
  std::string brief() const override;
  nlohmann::json detail() const override;

  const std::deque<Exchange>& exchanges() const { return exchanges_; }
  // Alt-Svc fields changed or removed (HTTP/1.x heads and HTTP/2 header blocks).
  std::uint64_t alt_svc_removed() const;
  // The HTTP/2 header block rewriter (block_quic and HTTP/2 only; null otherwise).
  const H2HeaderRewriter* h2_rewriter() const { return h2_rewriter_.get(); }
  bool h2() const { return sides_[0].stream.h2() || sides_[1].stream.h2(); }

 private:
  struct Side {
    HttpStream stream;
    std::uint64_t bytes = 0;
    std::uint64_t opaque_bytes = 0;
    std::uint64_t h2_frames = 0;
    std::map<int, std::uint64_t> h2_frame_types;
    std::uint32_t h2_max_stream = 0;
    bool dropping = false;   // skipping the payload of a dropped h2 frame
    bool rewriting = false;  // the payload of an h2 frame goes to the header block rewriter
    bool closed = false;
    std::string error;
  };
  // Feeds `in`; when `out` is given, appends what must be forwarded (rewritten heads).
  inspect::Verdict process(inspect::Direction direction, std::span<const std::uint8_t> in,
                           std::vector<std::uint8_t>* out);
  void on_step(std::size_t side_index, const Step& step);
  // The session speaks HTTP/2: the server side parses frames; with block_quic, HPACK state.
  void start_h2();
  // Server -> client under block_quic: what to forward for one step (rewritten heads, header
  // blocks re-encoded, ALTSVC frames dropped).
  void forward(Side& side, const Step& step, inspect::Bytes used, bool was_holding,
               std::vector<std::uint8_t>& out);
  Exchange* request_exchange();
  Exchange* response_exchange();

  std::string label_;
  InspectorOptions options_;
  std::array<Side, 2> sides_;
  std::deque<Exchange> exchanges_;
  std::uint64_t requests_ = 0;
  std::uint64_t responses_ = 0;
  std::size_t answered_ = 0;  // index in exchanges_ of the next request awaiting a response
  std::uint64_t alt_svc_removed_ = 0;
  std::uint64_t h2_altsvc_dropped_ = 0;
  std::unique_ptr<H2HeaderRewriter> h2_rewriter_;
  bool h2_error_logged_ = false;
};

}  // namespace wb::http
