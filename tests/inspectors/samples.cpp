#include "tests/inspectors/samples.h"

#include "inspectors/turn/pseudo_tls.h"
#include "inspectors/turn/stun_builder.h"

namespace wb::test {

using inspect::Direction;
constexpr Direction kC = Direction::kClientToServer;
constexpr Direction kS = Direction::kServerToClient;

std::vector<std::uint8_t> Flow::stream(Direction direction) const {
  std::vector<std::uint8_t> out;
  for (const auto& [dir, bytes] : chunks) {
    if (dir == direction) out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

std::string sip_message(const std::string& start_line, const std::vector<std::string>& headers,
                        const std::string& body, bool compact) {
  std::string text = start_line + "\r\n";
  for (const auto& header : headers) text += header + "\r\n";
  text += (compact ? "l: " : "Content-Length: ") + std::to_string(body.size()) + "\r\n\r\n";
  return text + body;
}

namespace {

const std::string kVia = "Via: SIP/2.0/TLS 192.0.2.1:50123;branch=z9hG4bK";
const std::string kRegCallId = "Call-ID: 6b1d6e4b7a1e4c4c8d3c2b1a0f9e8d7c";

std::string lync_challenge(const std::string& scheme) {
  if (scheme == "NTLM") {
    return "WWW-Authenticate: NTLM realm=\"SIP Communications Service\", "
           "targetname=\"sip/edge.example.com\", version=4";
  }
  if (scheme == "Kerberos") {
    return "WWW-Authenticate: Kerberos realm=\"SIP Communications Service\", "
           "targetname=\"sip/fe.example.com\", version=4";
  }
  return "WWW-Authenticate: TLS-DSK realm=\"SIP Communications Service\", version=4, "
         "sts-uri=\"https://fe.example.com:443/CertProv/CertProvisioningService.svc\"";
}

std::vector<std::string> register_headers(int cseq, const std::string& extra) {
  std::vector<std::string> headers = {
      kVia + "reg" + std::to_string(cseq),
      "Max-Forwards: 70",
      "From: <sip:alice@example.com>;tag=a1b2c3;epid=01010101",
      "To: <sip:alice@example.com>",
      kRegCallId,
      "CSeq: " + std::to_string(cseq) + " REGISTER",
      "Contact: <sip:192.0.2.1:50123;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, "
      "MESSAGE, "
      "INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY\";proxy=replace",
      "User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)",
      "Supported: gruu-10, adhoclist, msrtc-event-categories",
      "Supported: ms-forking",
      "ms-keep-alive: UAC;hop-hop=yes",
      "Event: registration"};
  if (!extra.empty()) headers.push_back(extra);
  return headers;
}

std::vector<std::string> response_headers(const std::string& cseq, const std::string& to_tag) {
  return {kVia + "x;ms-received-port=50123;ms-received-cid=1F00",
          "From: <sip:alice@example.com>;tag=a1b2c3;epid=01010101",
          "To: <sip:alice@example.com>" + (to_tag.empty() ? "" : ";tag=" + to_tag),
          kRegCallId,
          "CSeq: " + cseq,
          "Server: RTC/6.0"};
}

std::vector<std::string> with(std::vector<std::string> headers,
                              const std::vector<std::string>& more) {
  headers.insert(headers.end(), more.begin(), more.end());
  return headers;
}

std::string sdp(const std::string& address, int port) {
  return "v=0\r\n"
         "o=- 0 0 IN IP4 " +
         address +
         "\r\n"
         "s=session\r\n"
         "c=IN IP4 " +
         address +
         "\r\n"
         "b=CT:99980\r\n"
         "t=0 0\r\n"
         "m=audio " +
         std::to_string(port) +
         " RTP/SAVP 0 8 101\r\n"
         "a=ice-ufrag:Xr4T\r\n"
         "a=ice-pwd:7qC5x0p0eQ2QJbYV8p9r3cK1\r\n"
         "a=candidate:1 1 UDP 2130706431 " +
         address + " " + std::to_string(port) +
         " typ host\r\n"
         "a=candidate:2 1 TCP-ACT 1684798719 198.51.100.7 " +
         std::to_string(port + 2) + " typ srflx raddr " + address + " rport " +
         std::to_string(port + 2) +
         "\r\n"
         "a=candidate:3 1 UDP 16648703 203.0.113.50 52000 typ relay raddr 198.51.100.7 rport "
         "3478\r\n"
         "a=rtpmap:101 telephone-event/8000\r\n"
         "m=video " +
         std::to_string(port + 10) + " RTP/SAVP 122\r\n";
}

}  // namespace

Flow sip_register_flow(const std::string& scheme) {
  Flow flow{"sip-register-" + scheme, "sips", {}};
  std::string auth =
      scheme == "NTLM"
          ? "NTLM qop=\"auth\", realm=\"SIP Communications Service\", "
            "targetname=\"sip/edge.example.com\", "
            "gssapi-data=\"TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\", version=4"
      : scheme == "Kerberos"
          ? "Kerberos qop=\"auth\", realm=\"SIP Communications Service\", "
            "targetname=\"sip/fe.example.com\", gssapi-data=\"YIIE\", version=4"
          : "TLS-DSK qop=\"auth\", realm=\"SIP Communications Service\", "
            "targetname=\"fe.example.com\", gssapi-data=\"FgMBAFoBAABWAwE=\", version=4";
  flow.chunks.push_back(
      {kC, bytes_of(sip_message("REGISTER sip:example.com SIP/2.0", register_headers(1, "")))});
  flow.chunks.push_back(
      {kS, bytes_of(sip_message("SIP/2.0 401 Unauthorized",
                                with(response_headers("1 REGISTER", "7A1F"),
                                     {lync_challenge(scheme), lync_challenge("TLS-DSK")})))});
  flow.chunks.push_back({kC, bytes_of("\r\n\r\n")});  // keepalive ping
  flow.chunks.push_back({kS, bytes_of("\r\n")});      // pong
  flow.chunks.push_back({kC, bytes_of(sip_message("REGISTER sip:example.com SIP/2.0",
                                                  register_headers(2, "Authorization: " + auth)))});
  flow.chunks.push_back(
      {kS, bytes_of(sip_message(
               "SIP/2.0 200 OK",
               with(response_headers("2 REGISTER", "7A1F"),
                    {"Expires: 7200", "Contact: <sip:192.0.2.1:50123;transport=tls>;expires=7200",
                     "Authentication-Info: NTLM rspauth=\"01000000\", srand=\"3F0A\""})))});
  flow.chunks.push_back(
      {kC, bytes_of(sip_message(
               "SERVICE sip:alice@example.com SIP/2.0",
               {kVia + "svc", "From: <sip:alice@example.com>;tag=s1", "To: <sip:alice@example.com>",
                "Call-ID: svc1", "CSeq: 3 SERVICE",
                "Content-Type: application/msrtc-category-publish+xml"},
               "<publish xmlns=\"http://schemas.microsoft.com/2006/09/sip/rich-presence\"/>"))});
  flow.chunks.push_back(
      {kS, bytes_of(sip_message("BENOTIFY sip:192.0.2.1:50123;transport=tls SIP/2.0",
                                {kVia + "bn", "From: <sip:alice@example.com>;tag=bn1",
                                 "To: <sip:alice@example.com>;tag=s1", "Call-ID: svc1",
                                 "CSeq: 1 BENOTIFY", "Event: vnd-microsoft-roaming-self"}))});
  return flow;
}

Flow sip_dialog_flow() {
  Flow flow{"sip-dialog", "sip", {}};
  const std::string call = "i: 3c26700a7c3f-9ka1nsb4c2@192.0.2.1";
  std::vector<std::string> uac = {"v: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKinv1",
                                  "f: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl",
                                  "t: <sip:bob@example.com>",
                                  call,
                                  "CSeq: 1 INVITE",
                                  "m: <sip:alice@192.0.2.1:5060;transport=tcp>",
                                  "k: replaces, ms-safe-transfer",
                                  "Subject: a call whose subject header",
                                  "  is folded over two lines",
                                  "c: application/sdp"};
  flow.chunks.push_back({kC, bytes_of(sip_message("INVITE sip:bob@example.com SIP/2.0", uac,
                                                  sdp("192.0.2.1", 49170), true))});
  std::vector<std::string> uas = {"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKinv1",
                                  "From: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl",
                                  "To: <sip:bob@example.com>;tag=8321234356", call,
                                  "CSeq: 1 INVITE"};
  flow.chunks.push_back(
      {kS, bytes_of(sip_message("SIP/2.0 100 Trying", {uas[0], uas[1], "To: <sip:bob@example.com>",
                                                       call, "CSeq: 1 INVITE"}) +
                    sip_message("SIP/2.0 180 Ringing", uas))});
  flow.chunks.push_back(
      {kS, bytes_of(sip_message("SIP/2.0 200 OK",
                                with(uas, {"Contact: <sip:bob@192.0.2.2:5060;transport=tcp>",
                                           "Content-Type: application/sdp"}),
                                sdp("192.0.2.2", 51372)))});
  std::vector<std::string> ack = {"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKack1",
                                  "From: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl",
                                  "To: <sip:bob@example.com>;tag=8321234356", call, "CSeq: 1 ACK"};
  flow.chunks.push_back(
      {kC, bytes_of(sip_message("ACK sip:bob@192.0.2.2:5060;transport=tcp SIP/2.0", ack))});
  ack[0] = "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKbye1";
  ack[4] = "CSeq: 2 BYE";
  flow.chunks.push_back(
      {kC, bytes_of(sip_message("BYE sip:bob@192.0.2.2:5060;transport=tcp SIP/2.0", ack))});
  uas[0] = "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKbye1";
  uas[4] = "CSeq: 2 BYE";
  flow.chunks.push_back({kS, bytes_of(sip_message("SIP/2.0 200 OK", uas))});
  return flow;
}

Flow sip_negotiate_flow() {
  Flow flow{"sip-negotiate", "sips", {}};
  std::vector<std::string> headers = {kVia + "neg",
                                      "From: <sip:192.0.2.1>;tag=n1",
                                      "To: <sip:198.51.100.1>",
                                      "Call-ID: neg1",
                                      "CSeq: 1 NEGOTIATE",
                                      "Compression: LZ77-8K",
                                      "ms-keep-alive: UAC;hop-hop=yes"};
  flow.chunks.push_back(
      {kC, bytes_of(sip_message("NEGOTIATE sip:198.51.100.1:5061 SIP/2.0", headers))});
  headers[2] = "To: <sip:198.51.100.1>;tag=n2";
  std::string answer = sip_message("SIP/2.0 200 OK", headers);
  // The compressed stream starts right after the answer, in the same read.
  std::vector<std::uint8_t> server = bytes_of(answer);
  for (int i = 0; i < 300; ++i) server.push_back(static_cast<std::uint8_t>((i * 37) ^ 0xA5));
  flow.chunks.push_back({kS, server});
  std::vector<std::uint8_t> client;
  for (int i = 0; i < 500; ++i) client.push_back(static_cast<std::uint8_t>((i * 91) ^ 0x3C));
  flow.chunks.push_back({kC, client});
  return flow;
}

namespace {

std::array<std::uint8_t, 16> txid(std::uint8_t seed) {
  std::array<std::uint8_t, 16> id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  return id;
}

std::vector<std::uint8_t> payload(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(seed + i * 13);
  return out;
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

}  // namespace

Flow ms_turn_flow() {
  using turn::Dialect;
  using turn::MessageBuilder;
  namespace attr = turn::attr;
  Flow flow{"ms-turn", "ms-turn", {}};
  std::array<std::uint8_t, 32> random{};
  for (std::size_t i = 0; i < random.size(); ++i) random[i] = static_cast<std::uint8_t>(i * 5 + 1);
  auto hello = turn::make_pseudo_tls_client(random);
  auto answer = turn::make_pseudo_tls_server(random, random);
  flow.chunks.push_back({kC, {hello.begin(), hello.end()}});
  flow.chunks.push_back({kS, {answer.begin(), answer.end()}});
  // Allocate without credentials, 401, Allocate with credentials, success.
  auto relayed = turn::ipv4_endpoint("198.51.100.20", 50000);
  auto reflexive = turn::ipv4_endpoint("192.0.2.1", 40001);
  auto peer = turn::ipv4_endpoint("203.0.113.9", 3480);
  auto seq = payload(20, 9);
  flow.chunks.push_back({kC, turn::ms_frame(2, MessageBuilder(0x0003, txid(1), Dialect::kMsTurn)
                                                   .add_u32(attr::kMsVersion, 2)
                                                   .add(attr::kMsSequenceNumber, seq)
                                                   .finish())});
  flow.chunks.push_back({kS, turn::ms_frame(2, MessageBuilder(0x0113, txid(1), Dialect::kMsTurn)
                                                   .add_error(401, "Unauthorized")
                                                   .add_text(0x0015, "example.com")
                                                   .add_text(0x0014, "nonce-1")
                                                   .finish())});
  flow.chunks.push_back({kC, turn::ms_frame(2, MessageBuilder(0x0003, txid(2), Dialect::kMsTurn)
                                                   .add_u32(attr::kMsVersion, 2)
                                                   .add_text(attr::kUsername, "AgAAJGh1bWFu")
                                                   .add_u32(attr::kLifetime, 600)
                                                   .finish())});
  flow.chunks.push_back(
      {kS, turn::ms_frame(2, MessageBuilder(0x0103, txid(2), Dialect::kMsTurn)
                                 .add_address(attr::kMappedAddress, relayed, false)
                                 .add_address(attr::kMsXorMappedAddress, reflexive, true)
                                 .add_u32(attr::kLifetime, 480)
                                 .add_u32(attr::kMsVersion, 2)
                                 .finish())});
  // Send request and Data indication (media through control frames).
  flow.chunks.push_back(
      {kC, turn::ms_frame(2, MessageBuilder(0x0004, txid(3), Dialect::kMsTurn)
                                 .add_address(attr::kMsDestinationAddress, peer, false)
                                 .add(attr::kData, payload(160, 1))
                                 .finish())});
  flow.chunks.push_back({kS, turn::ms_frame(2, MessageBuilder(0x0115, txid(4), Dialect::kMsTurn)
                                                   .add_address(attr::kXorPeerAddress, peer, false)
                                                   .add(attr::kData, payload(172, 2))
                                                   .finish())});
  // Set Active Destination, then end-to-end data frames to that peer.
  flow.chunks.push_back(
      {kC, turn::ms_frame(2, MessageBuilder(0x0006, txid(5), Dialect::kMsTurn)
                                 .add_address(attr::kMsDestinationAddress, peer, false)
                                 .finish())});
  flow.chunks.push_back(
      {kS, turn::ms_frame(2, MessageBuilder(0x0106, txid(5), Dialect::kMsTurn).finish())});
  flow.chunks.push_back(
      {kC, concat({turn::ms_frame(3, payload(200, 3)), turn::ms_frame(3, payload(40, 4))})});
  flow.chunks.push_back({kS, turn::ms_frame(3, payload(1000, 5))});
  // Refresh by a second Allocate.
  flow.chunks.push_back({kC, turn::ms_frame(2, MessageBuilder(0x0003, txid(6), Dialect::kMsTurn)
                                                   .add_u32(attr::kLifetime, 600)
                                                   .finish())});
  flow.chunks.push_back(
      {kS, turn::ms_frame(2, MessageBuilder(0x0103, txid(6), Dialect::kMsTurn)
                                 .add_address(attr::kMappedAddress, relayed, false)
                                 .add_u32(attr::kLifetime, 600)
                                 .finish())});
  return flow;
}

Flow turn_flow() {
  using turn::Dialect;
  using turn::MessageBuilder;
  namespace attr = turn::attr;
  Flow flow{"turn", "turn", {}};
  auto relayed = turn::ipv4_endpoint("192.0.2.2", 49152);
  auto mapped = turn::ipv4_endpoint("192.0.2.1", 40000);
  auto peer = turn::ipv4_endpoint("203.0.113.5", 6000);
  std::uint8_t udp[4] = {17, 0, 0, 0};
  flow.chunks.push_back(
      {kC, MessageBuilder(0x0003, txid(1), Dialect::kRfc5389).add(0x0019, udp).finish()});
  flow.chunks.push_back({kS, MessageBuilder(0x0113, txid(1), Dialect::kRfc5389)
                                 .add_error(401, "Unauthorized")
                                 .add_text(0x0014, "example.org")
                                 .add_text(0x0015, "abcd")
                                 .finish()});
  flow.chunks.push_back({kC, MessageBuilder(0x0003, txid(2), Dialect::kRfc5389)
                                 .add(0x0019, udp)
                                 .add_text(attr::kUsername, "user")
                                 .finish()});
  flow.chunks.push_back({kS, MessageBuilder(0x0103, txid(2), Dialect::kRfc5389)
                                 .add_address(attr::kXorRelayedAddress, relayed, true)
                                 .add_address(attr::kXorMappedAddress, mapped, true)
                                 .add_u32(attr::kLifetime, 600)
                                 .add_text(attr::kSoftware, "Coturn-4.6.1")
                                 .finish()});
  flow.chunks.push_back({kC, MessageBuilder(0x0008, txid(3), Dialect::kRfc5389)
                                 .add_address(attr::kXorPeerAddress, peer, true)
                                 .finish()});
  flow.chunks.push_back({kS, MessageBuilder(0x0108, txid(3), Dialect::kRfc5389).finish()});
  flow.chunks.push_back({kC, MessageBuilder(0x0016, txid(4), Dialect::kRfc5389)
                                 .add_address(attr::kXorPeerAddress, peer, true)
                                 .add(attr::kData, payload(99, 7))
                                 .finish()});
  flow.chunks.push_back({kS, MessageBuilder(0x0017, txid(5), Dialect::kRfc5389)
                                 .add_address(attr::kXorPeerAddress, peer, true)
                                 .add(attr::kData, payload(101, 8))
                                 .finish()});
  std::uint8_t channel[4] = {0x40, 0x00, 0, 0};
  flow.chunks.push_back({kC, MessageBuilder(0x0009, txid(6), Dialect::kRfc5389)
                                 .add(attr::kChannelNumber, channel)
                                 .add_address(attr::kXorPeerAddress, peer, true)
                                 .finish()});
  flow.chunks.push_back({kS, MessageBuilder(0x0109, txid(6), Dialect::kRfc5389).finish()});
  flow.chunks.push_back({kC, concat({turn::channel_data(0x4000, payload(13, 1)),
                                     turn::channel_data(0x4000, payload(64, 2))})});
  flow.chunks.push_back({kS, turn::channel_data(0x4000, payload(30, 3))});
  flow.chunks.push_back(
      {kC,
       MessageBuilder(0x0004, txid(7), Dialect::kRfc5389).add_u32(attr::kLifetime, 300).finish()});
  flow.chunks.push_back(
      {kS,
       MessageBuilder(0x0104, txid(7), Dialect::kRfc5389).add_u32(attr::kLifetime, 300).finish()});
  return flow;
}

Flow http1_flow() {
  Flow flow{"http1", "https", {}};
  flow.chunks.push_back(
      {kC, bytes_of("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
                    "HEAD /big HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
                    "POST /upload HTTP/1.1\r\nHost: www.example.com\r\n"
                    "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world")});
  flow.chunks.push_back(
      {kS, bytes_of("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                    "Alt-Svc: h3=\":443\"; ma=86400, h2=\":443\"; ma=60\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: 1000000\r\nalt-svc: h3-29=\":443\"\r\n\r\n"
                    "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 2\r\n\r\nok")});
  return flow;
}

namespace {

// An HTTP/2 frame: 9-byte header and `payload` (RFC 9113 4.1).
std::vector<std::uint8_t> h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                                   const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out(9 + payload.size());
  out[0] = static_cast<std::uint8_t>(payload.size() >> 16);
  out[1] = static_cast<std::uint8_t>(payload.size() >> 8);
  out[2] = static_cast<std::uint8_t>(payload.size());
  out[3] = type;
  out[4] = flags;
  for (int i = 0; i < 4; ++i) out[5 + i] = static_cast<std::uint8_t>(stream >> (24 - 8 * i));
  std::copy(payload.begin(), payload.end(), out.begin() + 9);
  return out;
}

}  // namespace

Flow http2_flow() {
  Flow flow{"http2", "https", {}};
  flow.chunks.push_back(
      {kC, concat({bytes_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), h2_frame(4, 0, 0, payload(12, 1)),
                   h2_frame(1, 5, 1, payload(30, 2))})});
  // ALTSVC frame (RFC 7838 4): origin length, origin, field value.
  std::vector<std::uint8_t> altsvc = bytes_of(std::string("..www.example.comh3=\":443\""));
  altsvc[0] = 0;
  altsvc[1] = 15;
  flow.chunks.push_back(
      {kS, concat({h2_frame(4, 0, 0, payload(6, 3)), h2_frame(4, 1, 0, {}),
                   h2_frame(0x0a, 0, 0, altsvc), h2_frame(1, 4, 1, payload(20, 4)),
                   h2_frame(0, 1, 1, payload(500, 5))})});
  return flow;
}

std::vector<Flow> all_flows() {
  return {sip_register_flow("NTLM"),
          sip_register_flow("Kerberos"),
          sip_register_flow("TLS-DSK"),
          sip_dialog_flow(),
          sip_negotiate_flow(),
          ms_turn_flow(),
          turn_flow(),
          http1_flow(),
          http2_flow()};
}

}  // namespace wb::test
