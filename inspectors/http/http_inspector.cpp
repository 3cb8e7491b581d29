#include "inspectors/http/http_inspector.h"

#include "agent/common/log.h"
#include "inspectors/http/alt_svc.h"

namespace wb::http {

using inspect::Direction;
using inspect::Verdict;

namespace {
constexpr std::uint8_t kH2AltSvcFrame = 0x0a;  // RFC 7838 section 4
constexpr std::size_t kMaxText = 256;

std::string keep(std::string_view text) {
  return inspect::printable(text, kMaxText);
}

void append(std::vector<std::uint8_t>& out, inspect::Bytes bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
}  // namespace

HttpInspector::HttpInspector(std::string label, InspectorOptions options)
    : label_(std::move(label)),
      options_(options),
      sides_{Side{HttpStream(Role::kRequest, options.limits)},
             Side{HttpStream(Role::kResponse, options.limits)}} {
  if (options_.alpn_h2) start_h2();
}

void HttpInspector::start_h2() {
  sides_[1].stream.use_h2();
  // The HPACK state exists only for HTTP/2 sessions with QUIC blocking (ALPN h2 or the client
  // preface, which comes before any server frame and before the client's SETTINGS).
  if (!options_.block_quic || h2_rewriter_) return;
  h2_rewriter_ = H2HeaderRewriter::create();
  if (!h2_rewriter_) {
    spdlog::warn("{}: no HPACK state (out of memory): HTTP/2 Alt-Svc headers stay as they are",
                 label_);
  }
}

std::uint64_t HttpInspector::alt_svc_removed() const {
  return alt_svc_removed_ + (h2_rewriter_ ? h2_rewriter_->alt_svc_changed() : 0);
}

Exchange* HttpInspector::request_exchange() {
  return exchanges_.empty() ? nullptr : &exchanges_.back();
}

Exchange* HttpInspector::response_exchange() {
  if (answered_ >= exchanges_.size()) {
    // A response without a request we saw (or one past the kept window): record it alone.
    if (exchanges_.size() == kMaxExchanges) {
      exchanges_.pop_front();
      if (answered_) --answered_;
    }
    exchanges_.emplace_back();
    answered_ = exchanges_.size() - 1;
  }
  return &exchanges_[answered_];
}

void HttpInspector::on_step(std::size_t index, const Step& step) {
  Side& side = sides_[index];
  HttpStream& stream = side.stream;
  bool client = index == 0;
  switch (step.kind) {
    case Step::Kind::kHead: {
      const Head& head = stream.head();
      if (client) {
        ++requests_;
        if (exchanges_.size() == kMaxExchanges) {
          exchanges_.pop_front();
          if (answered_) --answered_;
        }
        Exchange exchange;
        exchange.method = keep(head.method);
        exchange.target = keep(head.target);
        exchange.host = keep(head.header("Host").value_or(""));
        exchange.chunked = stream.chunked();
        exchanges_.push_back(std::move(exchange));
        sides_[1].stream.push_request(head.method);
      } else {
        ++responses_;
        Exchange* exchange = response_exchange();
        exchange->status = head.status;
        exchange->content_type = keep(head.header("Content-Type").value_or(""));
        exchange->chunked = stream.chunked();
        bool interim = head.status < 200 && head.status != 101;
        if (step.end && !interim) {
          exchange->complete = true;
          ++answered_;
        }
      }
      return;
    }
    case Step::Kind::kBody:
      if (client) {
        if (Exchange* exchange = request_exchange()) exchange->request_bytes = stream.body_bytes();
      } else if (answered_ < exchanges_.size()) {
        exchanges_[answered_].response_bytes = stream.body_bytes();
        if (step.end) {
          exchanges_[answered_].complete = true;
          ++answered_;
        }
      }
      return;
    case Step::Kind::kH2Preface:
      start_h2();
      return;
    case Step::Kind::kH2FrameHeader: {
      ++side.h2_frames;
      const FrameHeader& frame = stream.frame();
      if (side.h2_frame_types.size() < 16 || side.h2_frame_types.count(frame.type)) {
        ++side.h2_frame_types[frame.type];
      }
      side.h2_max_stream = std::max(side.h2_max_stream, frame.stream_id);
      return;
    }
    case Step::Kind::kError:
      if (side.error.empty()) {
        side.error = std::string(stream.error());
        spdlog::info("{}: HTTP parsing stopped on the {} side: {}", label_,
                     client ? "client" : "server", side.error);
      }
      side.opaque_bytes += step.consumed;
      return;
    case Step::Kind::kTunnel:
      side.opaque_bytes += step.consumed;
      return;
    default:
      return;
  }
}

void HttpInspector::forward(Side& side, const Step& step, inspect::Bytes used, bool was_holding,
                            std::vector<std::uint8_t>& out) {
  // What to forward: held bytes (heads, h2 frame headers) only once they are complete.
  H2HeaderRewriter* rewriter = h2_rewriter_.get();
  switch (step.kind) {
    case Step::Kind::kHead: {
      std::string rewritten;
      int changed = rewrite_head_without_h3(side.stream.head_bytes(), rewritten);
      if (changed) {
        alt_svc_removed_ += static_cast<std::uint64_t>(changed);
        append(out, inspect::as_bytes(rewritten));
      } else {
        append(out, side.stream.held());
      }
      return;
    }
    case Step::Kind::kH2FrameHeader: {
      const FrameHeader& frame = side.stream.frame();
      if (rewriter && rewriter->begin_frame(frame, side.stream.held(), out)) {
        side.rewriting = frame.length > 0;
        if (!side.rewriting) rewriter->end_frame(out);
      } else if (frame.type == kH2AltSvcFrame) {
        ++h2_altsvc_dropped_;
        side.dropping = frame.length > 0;
      } else {
        append(out, side.stream.held());
      }
      return;
    }
    case Step::Kind::kH2Payload:
      if (side.rewriting) {
        rewriter->frame_payload(used, out);
        if (side.stream.holding()) {  // the frame ended
          side.rewriting = false;
          rewriter->end_frame(out);
        }
        return;
      }
      if (!side.dropping) append(out, used);
      if (side.stream.holding()) side.dropping = false;  // the frame ended
      return;
    case Step::Kind::kNeedMore:
      if (!was_holding) append(out, used);  // held bytes go out once their unit is complete
      return;
    case Step::Kind::kError:
      // Safe pass-through: whatever was held goes out unchanged, and so does the rest.
      if (rewriter) rewriter->abort("the HTTP/2 stream stopped parsing", out);
      append(out, was_holding ? side.stream.held() : used);
      return;
    default:
      append(out, used);
      return;
  }
}

Verdict HttpInspector::process(Direction direction, std::span<const std::uint8_t> in,
                               std::vector<std::uint8_t>* out) {
  std::size_t index = static_cast<std::size_t>(direction);
  Side& side = sides_[index];
  side.bytes += in.size();
  while (!in.empty()) {
    bool holding = side.stream.holding();
    Step step = side.stream.feed(in);
    inspect::Bytes used = in.first(step.consumed);
    in = in.subspan(step.consumed);
    on_step(index, step);
    if (h2_rewriter_ && direction == Direction::kClientToServer) {
      // The client's SETTINGS decide what our HPACK encoder and frames may use.
      if (step.kind == Step::Kind::kH2FrameHeader) h2_rewriter_->client_frame(side.stream.frame());
      if (step.kind == Step::Kind::kH2Payload) h2_rewriter_->client_payload(used);
    }
    if (out) forward(side, step, used, holding, *out);
    if (h2_rewriter_ && !h2_rewriter_->error().empty() && !h2_error_logged_) {
      h2_error_logged_ = true;
      spdlog::warn("{}: HTTP/2 header block from the server not rewritten ({}): {}", label_,
                   h2_rewriter_->denied() ? "closing the session" : "passing the rest unchanged",
                   h2_rewriter_->error());
    }
    if (h2_rewriter_ && h2_rewriter_->denied()) return Verdict::deny(*h2_rewriter_->denied());
    if (!out && step.kind == Step::Kind::kNeedMore) break;
  }
  return Verdict::forward();
}

Verdict HttpInspector::on_data(Direction direction, std::span<const std::uint8_t> bytes) {
  return process(direction, bytes, nullptr);
}

Verdict HttpInspector::filter(Direction direction, std::span<const std::uint8_t> in,
                              std::vector<std::uint8_t>& out) {
  if (!options_.block_quic || direction == Direction::kClientToServer) {
    out.insert(out.end(), in.begin(), in.end());
    return process(direction, in, nullptr);
  }
  return process(direction, in, &out);
}

void HttpInspector::on_close(Direction direction) {
  Side& side = sides_[static_cast<std::size_t>(direction)];
  side.closed = true;
  // A response delimited by the close ends here.
  if (direction == Direction::kServerToClient && answered_ < exchanges_.size() &&
      exchanges_[answered_].status) {
    exchanges_[answered_].complete = true;
    ++answered_;
  }
}

std::string HttpInspector::brief() const {
  if (h2()) {
    std::string line =
        "h2 frames=" + std::to_string(sides_[0].h2_frames + sides_[1].h2_frames) +
        " streams=" + std::to_string(std::max(sides_[0].h2_max_stream, sides_[1].h2_max_stream));
    if (alt_svc_removed()) line += " alt-svc-removed=" + std::to_string(alt_svc_removed());
    return line;
  }
  if (exchanges_.empty()) return "no exchange";
  const Exchange& last = exchanges_.back();
  std::string line = last.method.empty() ? "-" : last.method;
  line += " " + (last.host.empty() ? std::string("-") : last.host) + last.target;
  line += " " + (last.status ? std::to_string(last.status) : std::string("-"));
  if (!last.content_type.empty()) line += " " + last.content_type;
  line += " " + std::to_string(last.response_bytes) + "B";
  line += " exchanges=" + std::to_string(requests_);
  if (alt_svc_removed()) line += " alt-svc-removed=" + std::to_string(alt_svc_removed());
  return line;
}

nlohmann::json HttpInspector::detail() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& exchange : exchanges_) {
    list.push_back({{"method", exchange.method},
                    {"target", exchange.target},
                    {"host", exchange.host},
                    {"status", exchange.status},
                    {"content_type", exchange.content_type},
                    {"request_bytes", exchange.request_bytes},
                    {"response_bytes", exchange.response_bytes},
                    {"chunked", exchange.chunked},
                    {"complete", exchange.complete}});
  }
  nlohmann::json json = {{"protocol", label_},
                         {"version", h2() ? "h2" : "http/1.x"},
                         {"requests", requests_},
                         {"responses", responses_},
                         {"exchanges", list},
                         {"quic_block", options_.block_quic},
                         {"alt_svc_removed", alt_svc_removed()},
                         {"h2_altsvc_frames_dropped", h2_altsvc_dropped_}};
  if (h2_rewriter_) {
    json["h2_header_blocks"] = {{"rewritten", h2_rewriter_->blocks_rewritten()},
                                {"errors", h2_rewriter_->errors()},
                                {"error", std::string(h2_rewriter_->error())},
                                {"passing_through", h2_rewriter_->passing_through()},
                                {"encoder_table_size", h2_rewriter_->encoder_table_size()},
                                {"max_frame_size", h2_rewriter_->max_frame_size()}};
  }
  const char* names[] = {"client", "server"};
  for (std::size_t i = 0; i < sides_.size(); ++i) {
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [type, count] : sides_[i].h2_frame_types) types[std::to_string(type)] = count;
    json["streams"][names[i]] = {{"bytes", sides_[i].bytes},
                                 {"opaque_bytes", sides_[i].opaque_bytes},
                                 {"h2_frames", sides_[i].h2_frames},
                                 {"h2_frame_types", types},
                                 {"h2_max_stream_id", sides_[i].h2_max_stream},
                                 {"closed", sides_[i].closed},
                                 {"error", sides_[i].error}};
  }
  return json;
}

}  // namespace wb::http
