// wb_ms_turn_peer: both ends of Microsoft TURN over TCP as [MS-TURN] and PROTOCOL-FACTS describe
// them, for tests through the bridge (the real Edge server is not available in CI).
//
//   server --listen ADDR:PORT [--relay ADDR:PORT] [--max-connections N]
//       answers the 50-byte pseudo-TLS hello with the 83-byte answer, then framed MS-TURN:
//       Allocate -> Allocate response (MAGIC-COOKIE, MAPPED-ADDRESS = relayed address,
//       MS-XOR-MAPPED-ADDRESS, LIFETIME, MS-VERSION); Send request -> Data indication echoing the
//       data from the destination; Set Active Destination -> response; data frames echoed.
//   client --connect ADDR:PORT --bytes N [--chunk N] [--data-frames] [--timeout S] [--hold-ms N]
//       does the exchange, allocates, sends N bytes (Send requests, or data frames after Set
//       Active Destination) and checks that the echo is identical; exit 0 on success. --hold-ms
//       keeps the connection open that long afterwards (so a bridge can be asked about the live
//       session).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/unique_fd.h"
#include "tests/peers/socket_io.h"
#include "inspectors/turn/pseudo_tls.h"
#include "inspectors/turn/stun_builder.h"
#include "inspectors/turn/stun_message.h"

namespace {

using namespace wb::turn;
using Clock = std::chrono::steady_clock;
using wb::test::write_all;
constexpr std::uint16_t kMsVersionValue = 2;

struct Args {
  std::string mode, listen, connect, relay = "198.51.100.20:50000";
  std::size_t bytes = 100000, chunk = 1000, max_connections = 0;
  bool data_frames = false;
  int timeout_s = 10;
  int hold_ms = 0;
};

bool split_host_port(const std::string& text, sockaddr_in& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
  return inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

Endpoint endpoint_of(const sockaddr_in& address) {
  Endpoint endpoint;
  endpoint.family = 1;
  endpoint.port = ntohs(address.sin_port);
  std::memcpy(endpoint.address.data(), &address.sin_addr, 4);
  return endpoint;
}

// Reads exactly `size` bytes before the deadline.
bool read_exact(int fd, std::uint8_t* out, std::size_t size, Clock::time_point deadline) {
  std::size_t got = 0;
  while (got < size) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    ssize_t n = read(fd, out + got, size - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

struct Frame {
  std::uint8_t type = 0;
  std::vector<std::uint8_t> payload;
};

bool read_frame(int fd, Frame& frame, Clock::time_point deadline) {
  std::uint8_t header[4];
  if (!read_exact(fd, header, 4, deadline)) return false;
  frame.type = header[0];
  frame.payload.resize((header[2] << 8) | header[3]);
  return read_exact(fd, frame.payload.data(), frame.payload.size(), deadline);
}

std::array<std::uint8_t, 16> random_id(std::mt19937& rng) {
  std::array<std::uint8_t, 16> id{};
  for (auto& b : id) b = static_cast<std::uint8_t>(rng());
  return id;
}

// ---- server ----

void serve(wb::UniqueFd fd, sockaddr_in client, Endpoint relayed) {
  std::mt19937 rng(std::random_device{}());
  auto deadline = [] { return Clock::now() + std::chrono::seconds(60); };
  std::array<std::uint8_t, kPseudoTlsClientSize> hello{};
  if (!read_exact(fd.get(), hello.data(), hello.size(), deadline()) ||
      check_pseudo_tls_client(hello) != HelloCheck::kMatch) {
    std::fprintf(stderr, "server: not an MS-TURN pseudo-TLS hello, closing\n");
    return;
  }
  std::array<std::uint8_t, 32> random{}, session{};
  for (auto& b : random) b = static_cast<std::uint8_t>(rng());
  for (auto& b : session) b = static_cast<std::uint8_t>(rng());
  auto answer = make_pseudo_tls_server(random, session);
  if (!write_all(fd.get(), answer)) return;
  Endpoint active;
  bool allocated = false;
  Frame frame;
  while (read_frame(fd.get(), frame, deadline())) {
    std::vector<std::uint8_t> reply;
    if (frame.type == 0x03) {
      reply = ms_frame(0x03, frame.payload);  // end-to-end data: the peer echoes it
    } else if (frame.type == 0x02) {
      Message m;
      std::string_view error;
      if (decode(frame.payload, Dialect::kMsTurn, m, error) != DecodeStatus::kOk ||
          !m.ms_magic_cookie) {
        std::fprintf(stderr, "server: bad control message: %s\n",
                     error.empty() ? "no MAGIC-COOKIE" : error.data());
        return;
      }
      if (m.type == 0x0003) {
        std::uint32_t lifetime = u32_value(m.find(attr::kLifetime)).value_or(600);
        allocated = lifetime != 0;
        reply = ms_frame(2, MessageBuilder(0x0103, m.transaction, Dialect::kMsTurn)
                                .add_address(attr::kMappedAddress, relayed, false)
                                .add_address(attr::kMsXorMappedAddress, endpoint_of(client), true)
                                .add_u32(attr::kLifetime, lifetime)
                                .add_u32(attr::kMsVersion, kMsVersionValue)
                                .finish());
      } else if (m.type == 0x0004 && allocated) {
        const Attribute* destination = m.find(attr::kMsDestinationAddress);
        const Attribute* data = m.find(attr::kData);
        if (!destination || !data) return;
        auto peer = decode_address(destination->value, nullptr);
        if (!peer) return;
        reply = ms_frame(2, MessageBuilder(0x0115, random_id(rng), Dialect::kMsTurn)
                                .add_address(attr::kXorPeerAddress, *peer, false)
                                .add(attr::kData, data->value)
                                .finish());
      } else if (m.type == 0x0006 && allocated) {
        if (const Attribute* destination = m.find(attr::kMsDestinationAddress)) {
          active = decode_address(destination->value, nullptr).value_or(Endpoint{});
        }
        reply = ms_frame(2, MessageBuilder(0x0106, m.transaction, Dialect::kMsTurn).finish());
      } else {
        reply = ms_frame(2, MessageBuilder(static_cast<std::uint16_t>(m.type | 0x0110),
                                           m.transaction, Dialect::kMsTurn)
                                .add_error(437, "Allocation Mismatch")
                                .finish());
      }
    } else {
      std::fprintf(stderr, "server: frame type %u is neither control nor data\n", frame.type);
      return;
    }
    if (!write_all(fd.get(), reply)) return;
  }
}

int run_server(const Args& args) {
  sockaddr_in address{}, relay{};
  if (!split_host_port(args.listen, address) || !split_host_port(args.relay, relay)) {
    std::fprintf(stderr, "server: --listen and --relay take IPv4:PORT\n");
    return 2;
  }
  wb::UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener.get(), 16) != 0) {
    std::perror("server: bind/listen");
    return 1;
  }
  std::fprintf(stderr, "server: listening on %s\n", args.listen.c_str());
  std::vector<std::thread> threads;
  for (std::size_t served = 0; args.max_connections == 0 || served < args.max_connections;
       ++served) {
    sockaddr_in client{};
    socklen_t size = sizeof client;
    int fd = accept4(listener.get(), reinterpret_cast<sockaddr*>(&client), &size, SOCK_CLOEXEC);
    if (fd < 0) continue;
    threads.emplace_back(serve, wb::UniqueFd(fd), client, endpoint_of(relay));
  }
  for (auto& thread : threads) thread.join();
  return 0;
}

// ---- client ----

int fail(const char* what) {
  std::fprintf(stderr, "client: %s\n", what);
  return 1;
}

int run_client(const Args& args) {
  sockaddr_in server{};
  if (!split_host_port(args.connect, server)) return fail("--connect takes IPv4:PORT");
  auto deadline = Clock::now() + std::chrono::seconds(args.timeout_s);
  wb::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
    return fail("connect failed");
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::mt19937 rng(std::random_device{}());
  std::array<std::uint8_t, 32> random{};
  for (auto& b : random) b = static_cast<std::uint8_t>(rng());
  if (!write_all(fd.get(), make_pseudo_tls_client(random))) return fail("hello not sent");
  std::array<std::uint8_t, kPseudoTlsServerSize> answer{};
  if (!read_exact(fd.get(), answer.data(), answer.size(), deadline))
    return fail("no pseudo-TLS answer");
  if (check_pseudo_tls_server(answer) != HelloCheck::kMatch)
    return fail("pseudo-TLS answer malformed");

  auto allocate_id = random_id(rng);
  if (!write_all(fd.get(), ms_frame(2, MessageBuilder(0x0003, allocate_id, Dialect::kMsTurn)
                                           .add_u32(attr::kMsVersion, kMsVersionValue)
                                           .add_u32(attr::kLifetime, 600)
                                           .finish()))) {
    return fail("Allocate not sent");
  }
  Frame frame;
  Message m;
  std::string_view error;
  if (!read_frame(fd.get(), frame, deadline) || frame.type != 2)
    return fail("no Allocate response");
  if (decode(frame.payload, Dialect::kMsTurn, m, error) != DecodeStatus::kOk)
    return fail("Allocate response undecodable");
  if (m.type != 0x0103 || m.transaction != allocate_id || !m.ms_magic_cookie)
    return fail("not our Allocate response");
  auto relayed = m.find(attr::kMappedAddress)
                     ? decode_address(m.find(attr::kMappedAddress)->value, nullptr)
                     : std::nullopt;
  if (!relayed) return fail("Allocate response without a relayed address");
  std::uint32_t lifetime = u32_value(m.find(attr::kLifetime)).value_or(0);
  std::printf("allocated relayed=%s lifetime=%u ms-version=%u\n", relayed->to_string().c_str(),
              lifetime, u32_value(m.find(attr::kMsVersion)).value_or(0));

  Endpoint peer = ipv4_endpoint("203.0.113.9", 3480);
  if (args.data_frames) {
    auto id = random_id(rng);
    write_all(fd.get(), ms_frame(2, MessageBuilder(0x0006, id, Dialect::kMsTurn)
                                        .add_address(attr::kMsDestinationAddress, peer, false)
                                        .finish()));
    if (!read_frame(fd.get(), frame, deadline) || frame.type != 2 ||
        decode(frame.payload, Dialect::kMsTurn, m, error) != DecodeStatus::kOk ||
        m.type != 0x0106) {
      return fail("Set Active Destination not accepted");
    }
  }
  std::size_t sent = 0, received = 0;
  while (sent < args.bytes) {
    std::size_t size = std::min(args.chunk, args.bytes - sent);
    std::vector<std::uint8_t> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>((sent + i) * 7 + 3);
    std::vector<std::uint8_t> out =
        args.data_frames ? ms_frame(3, data)
                         : ms_frame(2, MessageBuilder(0x0004, random_id(rng), Dialect::kMsTurn)
                                           .add_address(attr::kMsDestinationAddress, peer, false)
                                           .add(attr::kData, data)
                                           .finish());
    if (!write_all(fd.get(), out)) return fail("send failed");
    sent += size;
    if (!read_frame(fd.get(), frame, deadline)) return fail("echo missing (timeout or close)");
    std::span<const std::uint8_t> echoed;
    if (args.data_frames) {
      if (frame.type != 3) return fail("expected a data frame");
      echoed = frame.payload;
    } else {
      if (frame.type != 2 ||
          decode(frame.payload, Dialect::kMsTurn, m, error) != DecodeStatus::kOk ||
          m.type != 0x0115 || !m.find(attr::kData)) {
        return fail("expected a Data indication");
      }
      echoed = m.find(attr::kData)->value;
    }
    if (!std::equal(echoed.begin(), echoed.end(), data.begin(), data.end()))
      return fail("echo differs");
    received += echoed.size();
  }
  std::printf("sent=%zu received=%zu ok\n", sent, received);
  std::fflush(stdout);
  if (args.hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(args.hold_ms));
  return 0;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: wb_ms_turn_peer server --listen IP:PORT [--relay IP:PORT] [--max-connections N]\n"
      "       wb_ms_turn_peer client --connect IP:PORT [--bytes N] [--chunk N] [--data-frames] "
      "[--timeout S] [--hold-ms N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (argc < 2) return usage();
  args.mode = argv[1];
  try {
    for (int i = 2; i < argc; ++i) {
      std::string flag = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
        return argv[++i];
      };
      if (flag == "--listen")
        args.listen = value();
      else if (flag == "--connect")
        args.connect = value();
      else if (flag == "--relay")
        args.relay = value();
      else if (flag == "--bytes")
        args.bytes = std::stoul(value());
      else if (flag == "--chunk")
        args.chunk = std::stoul(value());
      else if (flag == "--max-connections")
        args.max_connections = std::stoul(value());
      else if (flag == "--timeout")
        args.timeout_s = std::stoi(value());
      else if (flag == "--hold-ms")
        args.hold_ms = std::stoi(value());
      else if (flag == "--data-frames")
        args.data_frames = true;
      else
        throw std::invalid_argument("unknown option " + flag);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return usage();
  }
  if (args.chunk == 0 || args.chunk > 60000) args.chunk = 1000;
  if (args.mode == "server" && !args.listen.empty()) return run_server(args);
  if (args.mode == "client" && !args.connect.empty()) return run_client(args);
  return usage();
}
