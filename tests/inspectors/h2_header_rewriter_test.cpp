// Alt-Svc h3 removal from HTTP/2 header blocks: server streams made by libnghttp2's own HPACK
// encoder (dynamic table, Huffman, never-indexed fields, table size updates), split into
// CONTINUATION frames, padded, with priority, PUSH_PROMISE; through the HTTP inspector with QUIC
// blocking on, at every split and truncation point. The client's view of the output is decoded
// by an independent decoder that follows the stream as a client does, so a rewritten stream that
// a client could not decode fails here.
#include <gtest/gtest.h>

#include <random>

#include "inspectors/http/http_inspector.h"
#include "tests/inspectors/h2_wire.h"

namespace wb::test {
namespace {

using namespace wb::test::h2;
using inspect::Direction;
using Span = std::span<const std::uint8_t>;

constexpr std::string_view kBoth = "h3=\":443\"; ma=86400, h2=\":443\"";
constexpr std::string_view kOnlyH3 = "h3-29=\":443\"; ma=60, h3=\":8443\"";

struct Outcome {
  Bytes out;
  bool denied = false;
  std::string reason;
  nlohmann::json detail;
};

// The client's bytes go first (preface, SETTINGS), then the server's, cut at `cuts`.
Outcome relay(const Bytes& client, const Bytes& server, const std::vector<std::size_t>& cuts = {},
              bool block_quic = true) {
  http::InspectorOptions options;
  options.block_quic = block_quic;
  options.alpn_h2 = true;
  http::HttpInspector inspector("https", options);
  Outcome o;
  Bytes client_out;
  auto v = inspector.filter(Direction::kClientToServer, client, client_out);
  EXPECT_FALSE(v.denied());
  EXPECT_EQ(client_out, client) << "client bytes are never edited";
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(server.size());
  for (std::size_t end : ends) {
    auto verdict =
        inspector.filter(Direction::kServerToClient, Span(server).subspan(from, end - from), o.out);
    from = end;
    if (verdict.denied()) {
      o.denied = true;
      o.reason = verdict.reason;
      break;
    }
  }
  o.detail = inspector.detail();
  return o;
}

// Relays, then decodes the output as the client would (its SETTINGS_HEADER_TABLE_SIZE values
// `sizes` applied at the server's ACKs).
ClientView through_bridge(const Bytes& client, const Bytes& server, Outcome& o,
                          std::vector<std::uint32_t> sizes = {}) {
  o = relay(client, server);
  EXPECT_FALSE(o.denied) << o.reason;
  ClientView view = decode_server_stream(o.out, std::move(sizes));
  EXPECT_EQ(view.error, "");
  EXPECT_EQ(view.leftover, 0u);
  return view;
}

// Every 2-way split gives the same output as one read, and every prefix gives a prefix of it.
void expect_any_chunking(const Bytes& client, const Bytes& server) {
  Outcome whole = relay(client, server);
  for (std::size_t p = 0; p <= server.size(); ++p) {
    Outcome split = relay(client, server, {p});
    ASSERT_EQ(split.out, whole.out) << "split at " << p;
    Outcome prefix = relay(client, Bytes(server.begin(), server.begin() + p));
    ASSERT_FALSE(prefix.denied) << "prefix " << p;
    ASSERT_LE(prefix.out.size(), whole.out.size()) << "prefix " << p;
    ASSERT_TRUE(std::equal(prefix.out.begin(), prefix.out.end(), whole.out.begin()))
        << "prefix " << p;
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < server.size(); ++i) every.push_back(i);
  EXPECT_EQ(relay(client, server, every).out, whole.out) << "byte by byte";
}

void append(Bytes& to, const Bytes& more) {
  to.insert(to.end(), more.begin(), more.end());
}

Fields response(std::string_view alt_svc, std::string_view extra = "") {
  Fields f = {{":status", "200"},
              {"server", "nginx/1.22.1"},
              {"content-type", "text/html; charset=utf-8"},
              {"set-cookie", "session=7f3c9a1e; Secure; HttpOnly", true}};
  if (!alt_svc.empty()) f.push_back({"alt-svc", std::string(alt_svc)});
  if (!extra.empty()) f.push_back({"x-extra", std::string(extra)});
  return f;
}

// `fields` with Alt-Svc as the bridge must leave it.
Fields expected(Fields fields) {
  std::erase_if(fields, [](Field& f) {
    if (f.name != "alt-svc") return false;
    if (f.value == kBoth) f.value = "h2=\":443\"";
    return f.value == kOnlyH3;
  });
  return fields;
}

TEST(H2HeaderRewriter, DynamicTableHuffmanAndNeverIndexedAcrossResponses) {
  Encoder server_hpack;
  std::vector<Fields> sent = {response(kBoth),
                              response(kOnlyH3),
                              response("h2=\":443\"; ma=3600", "a longer value, Huffman coded"),
                              {{"grpc-status", "0"}}};
  Bytes server = settings({{0x3, 100}});
  append(server, settings_ack());
  std::vector<Bytes> blocks;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    blocks.push_back(server_hpack.block(sent[i]));
    if (i == 0) {
      ASSERT_GE(server_hpack.dynamic_entries(), 3u);  // server, content-type, alt-svc
    }
    std::uint32_t stream = i < 3 ? static_cast<std::uint32_t>(2 * i + 1) : 5;
    HeaderFrames how;
    how.end_stream = i == 3;
    append(server, header_frames(stream, blocks.back(), how));
    if (i < 3) append(server, data(stream, "body " + std::to_string(i), i != 2));
  }
  // The server's encoder really used its dynamic table: the repeated fields became indices.
  ASSERT_LT(blocks[1].size() + 25, blocks[0].size());
  ClientView original = decode_server_stream(server);
  ASSERT_EQ(original.error, "");
  ASSERT_EQ(original.blocks.size(), 4u);

  Bytes client = client_preface();
  Outcome o;
  ClientView view = through_bridge(client, server, o);
  ASSERT_EQ(view.blocks.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(view.blocks[i].fields, expected(sent[i])) << i << ":\n"
                                                        << to_string(view.blocks[i].fields);
    EXPECT_EQ(view.blocks[i].stream, original.blocks[i].stream);
    EXPECT_EQ(view.blocks[i].flags, original.blocks[i].flags);
  }
  EXPECT_EQ(view.data, original.data);
  EXPECT_EQ(view.other_frames, original.other_frames);
  EXPECT_EQ(o.detail["alt_svc_removed"], 2);
  EXPECT_EQ(o.detail["h2_header_blocks"]["rewritten"], 4);
  EXPECT_EQ(o.detail["h2_header_blocks"]["errors"], 0);
  expect_any_chunking(client, server);
}

TEST(H2HeaderRewriter, ContinuationPaddingPriorityAndPushPromise) {
  Encoder server_hpack;
  Fields promise = {{":method", "GET"},
                    {":scheme", "https"},
                    {":authority", "www.example.test"},
                    {":path", "/style.css"}};
  Fields first = response(kBoth, std::string(300, 'x'));
  Bytes server = settings({});
  append(server, settings_ack());
  HeaderFrames how_promise;
  how_promise.type = 0x5;
  how_promise.promised = 2;
  how_promise.pad = 3;
  how_promise.fragment = 10;
  append(server, header_frames(1, server_hpack.block(promise), how_promise));
  HeaderFrames how;
  how.pad = 7;
  how.priority = true;
  how.fragment = 16;
  append(server, header_frames(1, server_hpack.block(first), how));
  append(server, header_frames(2, server_hpack.block(response(kOnlyH3)), {}));
  append(server, data(2, "pushed", true));
  ClientView original = decode_server_stream(server);
  ASSERT_EQ(original.error, "");
  ASSERT_GT(original.blocks[1].frames, 3u);

  Bytes client = client_preface({{0x2, 1}});
  Outcome o;
  ClientView view = through_bridge(client, server, o);
  ASSERT_EQ(view.blocks.size(), 3u);
  EXPECT_EQ(view.blocks[0].type, 0x5);
  EXPECT_EQ(view.blocks[0].fields, promise);
  EXPECT_EQ(view.blocks[0].fields_prefix, (Bytes{0, 0, 0, 2}));  // the promised stream
  EXPECT_EQ(view.blocks[0].pad, 3);
  EXPECT_EQ(view.blocks[1].fields, expected(first));
  EXPECT_EQ(view.blocks[1].fields_prefix, (Bytes{0x80, 0, 0, 7, 0x2a}));  // priority kept
  EXPECT_EQ(view.blocks[1].pad, 7);
  EXPECT_EQ(view.blocks[1].flags & 0x28, 0x28);  // PADDED | PRIORITY
  EXPECT_EQ(view.blocks[1].frames, 1u);          // fits one frame of 16384
  EXPECT_EQ(view.blocks[2].fields, expected(response(kOnlyH3)));
  EXPECT_EQ(view.data, "pushed");
  expect_any_chunking(client, server);
}

TEST(H2HeaderRewriter, TableSizeUpdatesFollowBothSides) {
  // The client allows only a 256-byte table; the server applies it (size update in its next
  // block) after its ACK; later it shrinks to 0 and grows back on its own.
  Encoder server_hpack;
  Bytes server = settings({});
  append(server, header_frames(1, server_hpack.block(response(kBoth)), {}));
  append(server, settings_ack());
  server_hpack.change_table_size(256);
  append(server, header_frames(3, server_hpack.block(response(kBoth)), {}));
  server_hpack.change_table_size(0);
  append(server, header_frames(5, server_hpack.block(response(kOnlyH3)), {}));
  server_hpack.change_table_size(256);
  append(server, header_frames(7, server_hpack.block(response(kBoth)), {}));
  append(server, header_frames(9, server_hpack.block(response(kBoth)), {}));
  ASSERT_EQ(decode_server_stream(server, {256}).error, "");

  Bytes client = client_preface({{0x1, 256}});
  Outcome o;
  // The client's decoder (nghttp2 semantics) requires a size update once its SETTINGS are
  // acknowledged; it gets one only if our encoder applied the client's value at the ACK.
  ClientView view = through_bridge(client, server, o, {256});
  ASSERT_EQ(view.blocks.size(), 5u);
  for (std::size_t i : {0u, 1u, 3u, 4u})
    EXPECT_EQ(view.blocks[i].fields, expected(response(kBoth)));
  EXPECT_EQ(view.blocks[2].fields, expected(response(kOnlyH3)));
  EXPECT_EQ(o.detail["h2_header_blocks"]["encoder_table_size"], 256);
  expect_any_chunking(client, server);
}

TEST(H2HeaderRewriter, LargerServerTableThanOurs) {
  // The client allows 64 KiB; the server fills more than 4 KiB of its table. Our decoder must
  // follow it, our encoder stays within 4 KiB.
  Encoder server_hpack(65536);
  server_hpack.change_table_size(65536);
  Bytes server = settings({});
  append(server, settings_ack());
  std::vector<Fields> sent;
  for (int i = 0; i < 12; ++i) {
    sent.push_back(response(kBoth, std::string(900, static_cast<char>('a' + i))));
    append(server, header_frames(static_cast<std::uint32_t>(2 * i + 1),
                                 server_hpack.block(sent.back()), {}));
  }
  for (int i = 0; i < 12; ++i) {  // again: now from the server's big table
    append(server, header_frames(static_cast<std::uint32_t>(25 + 2 * i),
                                 server_hpack.block(sent[static_cast<std::size_t>(i)]), {}));
  }
  ASSERT_GE(server_hpack.dynamic_entries(), 12u);  // about 11 KiB of entries
  Outcome o;
  ClientView view = through_bridge(client_preface({{0x1, 65536}}), server, o, {65536});
  ASSERT_EQ(view.blocks.size(), 24u);
  for (std::size_t i = 0; i < 24; ++i) EXPECT_EQ(view.blocks[i].fields, expected(sent[i % 12]));
  EXPECT_EQ(o.detail["h2_header_blocks"]["encoder_table_size"], 4096);
}

TEST(H2HeaderRewriter, SplitsAtTheClientsMaxFrameSize) {
  std::mt19937 random(7);
  std::string big;
  for (int i = 0; i < 40000; ++i) big += static_cast<char>('!' + random() % 90);
  Encoder server_hpack;
  Bytes server = settings({{0x5, 1 << 20}});
  append(server, settings_ack());
  HeaderFrames how;
  how.fragment = 50000;  // one HEADERS frame (the server may, the client allowed 64 KiB)
  append(server, header_frames(1, server_hpack.block(response(kBoth, big)), how));

  // Default 16384: our output is split.
  Outcome o;
  ClientView view = through_bridge(client_preface(), server, o);
  ASSERT_EQ(view.blocks.size(), 1u);
  EXPECT_EQ(view.blocks[0].fields, expected(response(kBoth, big)));
  EXPECT_LE(view.largest_frame, 16384u);
  EXPECT_GE(view.blocks[0].frames, 2u);
  // The client allowed 65536 (applied at the server's ACK): one frame.
  view = through_bridge(client_preface({{0x5, 65536}}), server, o);
  ASSERT_EQ(view.blocks.size(), 1u);
  EXPECT_EQ(view.blocks[0].frames, 1u);
  EXPECT_GT(view.largest_frame, 16384u);
  EXPECT_EQ(o.detail["h2_header_blocks"]["max_frame_size"], 65536);
}

TEST(H2HeaderRewriter, UntouchedWithoutQuicBlocking) {
  Encoder server_hpack;
  Bytes server = settings({});
  append(server, header_frames(1, server_hpack.block(response(kBoth)), {}));
  append(server, data(1, "hi", true));
  http::InspectorOptions options;
  options.alpn_h2 = true;
  http::HttpInspector inspector("https", options);
  EXPECT_FALSE(inspector.rewrites());
  EXPECT_EQ(inspector.h2_rewriter(), nullptr);
  Outcome o = relay(client_preface(), server, {}, false);
  EXPECT_EQ(o.out, server);
  EXPECT_FALSE(o.detail.contains("h2_header_blocks"));
}

TEST(H2HeaderRewriter, StartsOnTheClientPrefaceWithoutAlpn) {
  // No ALPN h2 known (e.g. h2 with prior knowledge): the client preface starts HTTP/2 and the
  // rewriter; an HTTP/1.1 session never gets HPACK state.
  http::InspectorOptions options;
  options.block_quic = true;
  http::HttpInspector h1("https", options);
  Bytes ignored;
  std::string request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  h1.filter(Direction::kClientToServer, inspect::as_bytes(request), ignored);
  EXPECT_EQ(h1.h2_rewriter(), nullptr);

  Encoder server_hpack;
  Bytes server = settings({});
  append(server, header_frames(1, server_hpack.block(response(kBoth)), {}));
  http::HttpInspector h2("https", options);
  EXPECT_EQ(h2.h2_rewriter(), nullptr);
  Bytes out;
  h2.filter(Direction::kClientToServer, client_preface(), ignored);
  ASSERT_NE(h2.h2_rewriter(), nullptr);
  ASSERT_FALSE(h2.filter(Direction::kServerToClient, server, out).denied());
  ClientView view = decode_server_stream(out);
  ASSERT_EQ(view.error, "");
  ASSERT_EQ(view.blocks.size(), 1u);
  EXPECT_EQ(view.blocks[0].fields, expected(response(kBoth)));
  EXPECT_EQ(h2.alt_svc_removed(), 1u);
}

TEST(H2HeaderRewriter, MalformedFirstBlockPassesThroughUnchanged) {
  Encoder server_hpack;
  Bytes server = settings({});
  // Index 0x7f + 2^28: far beyond any table.
  Bytes bad = {0xff, 0xff, 0xff, 0xff, 0x7f};
  append(server, header_frames(1, bad, {}));
  append(server, header_frames(3, server_hpack.block(response(kBoth)), {}));
  Outcome o = relay(client_preface(), server);
  EXPECT_FALSE(o.denied);
  EXPECT_EQ(o.out, server);  // nothing re-encoded yet: the client can follow the server itself
  EXPECT_EQ(o.detail["h2_header_blocks"]["errors"], 1);
  EXPECT_TRUE(o.detail["h2_header_blocks"]["passing_through"].get<bool>());
  EXPECT_NE(o.detail["h2_header_blocks"]["error"].get<std::string>().find("HPACK"),
            std::string::npos);
  expect_any_chunking(client_preface(), server);
}

TEST(H2HeaderRewriter, MalformedAfterARewriteClosesTheSession) {
  Encoder server_hpack;
  Bytes server = settings({});
  append(server, header_frames(1, server_hpack.block(response(kBoth)), {}));
  Bytes bad = {0xff, 0xff, 0xff, 0xff, 0x7f};
  append(server, header_frames(3, bad, {}));
  Outcome o = relay(client_preface(), server);
  EXPECT_TRUE(o.denied);
  EXPECT_NE(o.reason.find("HTTP/2 header block: HPACK"), std::string::npos) << o.reason;
  EXPECT_EQ(o.detail["h2_header_blocks"]["errors"], 1);
}

TEST(H2HeaderRewriter, BrokenFramingOfAHeaderBlock) {
  Encoder server_hpack;
  Bytes block = server_hpack.block(response(kBoth));
  // HEADERS without END_HEADERS, then DATA: not allowed inside a header block.
  Bytes interrupted = settings({});
  append(interrupted, frame(0x1, 0, 1, Span(block).first(5)));
  append(interrupted, data(1, "x", true));
  // CONTINUATION without a block; padding longer than the frame; PRIORITY without its fields.
  Bytes stray = frame(0x9, 0x4, 1, block);
  Bytes overpadded = frame(0x1, 0x4 | 0x8, 1, Bytes{200, 0x88});
  Bytes short_priority = frame(0x1, 0x4 | 0x20, 1, Bytes{0x80, 0});
  for (const Bytes& server : {interrupted, stray, overpadded, short_priority}) {
    Outcome o = relay(client_preface(), server);
    EXPECT_FALSE(o.denied);
    EXPECT_EQ(o.out, server);
    EXPECT_EQ(o.detail["h2_header_blocks"]["errors"], 1);
  }
}

TEST(H2HeaderRewriter, BoundedMemory) {
  // An HPACK bomb: one 4000-byte entry put in the table (literal with incremental indexing,
  // written by hand: nghttp2's encoder would not index so large a field), then 400 one-byte
  // references to it: 1.6 MB decoded from 400 bytes.
  Bytes seed = {0x88, 0x40, 0x06, 'x', '-', 'b', 'o', 'm', 'b', 0x7f, 0xa1, 0x1e};
  seed.insert(seed.end(), 4000, 'b');
  Bytes server = settings({});
  append(server, header_frames(1, seed, {}));
  Bytes bomb = {0x88};                                 // :status 200
  for (int i = 0; i < 400; ++i) bomb.push_back(0xbe);  // dynamic index 62 (the x-bomb entry)
  append(server, header_frames(3, bomb, {}));
  Outcome o = relay(client_preface(), server);
  EXPECT_TRUE(o.denied);  // the first block was rewritten, so this closes the session
  EXPECT_NE(o.reason.find("decoded header list over"), std::string::npos) << o.reason;

  // A header block over 256 KiB across CONTINUATION frames: not buffered, passed through.
  Bytes huge = settings({});
  Bytes piece(16384, 0x88);
  append(huge, frame(0x1, 0, 1, piece));
  for (int i = 0; i < 20; ++i) append(huge, frame(0x9, i == 19 ? 0x4 : 0, 1, piece));
  Outcome h = relay(client_preface(), huge);
  EXPECT_FALSE(h.denied);
  EXPECT_EQ(h.out, huge);
  EXPECT_NE(h.detail["h2_header_blocks"]["error"].get<std::string>().find("over 262144 bytes"),
            std::string::npos);
}

TEST(H2HeaderRewriter, ClientSettingsSplitAnywhere) {
  Encoder server_hpack;
  Bytes server = settings({});
  append(server, settings_ack());
  server_hpack.change_table_size(0);
  append(server, header_frames(1, server_hpack.block(response(kBoth)), {}));
  Bytes client = client_preface({{0x1, 0}, {0x5, 20000}, {0x4, 1 << 20}});
  for (std::size_t p = 0; p <= client.size(); ++p) {
    http::InspectorOptions options;
    options.block_quic = true;
    options.alpn_h2 = true;
    http::HttpInspector inspector("https", options);
    Bytes ignored, out;
    inspector.filter(Direction::kClientToServer, Span(client).first(p), ignored);
    inspector.filter(Direction::kClientToServer, Span(client).subspan(p), ignored);
    ASSERT_FALSE(inspector.filter(Direction::kServerToClient, server, out).denied());
    ASSERT_EQ(inspector.h2_rewriter()->encoder_table_size(), 0u) << p;
    ASSERT_EQ(inspector.h2_rewriter()->max_frame_size(), 20000u) << p;
    ClientView view = decode_server_stream(out, {0});
    ASSERT_EQ(view.error, "") << p;
    ASSERT_EQ(view.blocks.size(), 1u);
    ASSERT_EQ(view.blocks[0].fields, expected(response(kBoth)));
  }
}

}  // namespace
}  // namespace wb::test
