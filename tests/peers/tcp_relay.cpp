#include "tests/peers/tcp_relay.h"

#include "tests/peers/socket_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

namespace wb::test {
namespace {

bool address_of(const std::string& ip, int port, sockaddr_in& out) {
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(port));
  return inet_pton(AF_INET, ip.c_str(), &out.sin_addr) == 1;
}

}  // namespace

UniqueFd listen_tcp(const std::string& ip, int port) {
  sockaddr_in address{};
  if (!address_of(ip, port, address)) return UniqueFd();
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(fd.get(), 4) != 0) {
    return UniqueFd();
  }
  return fd;
}

namespace {

struct Pair {
  UniqueFd sides[2];  // client, upstream
  bool open[2] = {true, true};
  inspect::Inspector* inspector = nullptr;
  bool done() const { return !open[0] && !open[1]; }
};

// Moves what is readable on side i of `pair` to the other side, through the inspector.
std::string pump(Pair& pair, int i, std::span<std::uint8_t> buffer) {
  auto direction =
      i == 0 ? inspect::Direction::kClientToServer : inspect::Direction::kServerToClient;
  int to = pair.sides[1 - i].get();
  ssize_t n = read(pair.sides[i].get(), buffer.data(), buffer.size());
  if (n <= 0) {
    pair.open[i] = false;
    pair.inspector->on_close(direction);
    shutdown(to, SHUT_WR);
    return "";
  }
  std::span<const std::uint8_t> bytes(buffer.data(), static_cast<std::size_t>(n));
  inspect::Verdict verdict = pair.inspector->on_data(direction, bytes);
  if (verdict.denied()) return "inspector denied: " + verdict.reason;
  if (!write_all(to, bytes)) return "write failed";
  return "";
}

}  // namespace

std::string relay_many(int listener, const std::string& upstream_ip, int upstream_port,
                       const std::function<std::unique_ptr<inspect::Inspector>()>& make,
                       std::size_t connections, std::chrono::seconds limit,
                       std::vector<std::unique_ptr<inspect::Inspector>>& out) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  sockaddr_in remote{};
  if (!address_of(upstream_ip, upstream_port, remote)) return "bad upstream address";
  std::vector<std::unique_ptr<Pair>> pairs;
  std::array<std::uint8_t, 16384> buffer{};
  std::size_t accepted = 0;
  for (;;) {
    bool all_done = accepted == connections;
    for (const auto& pair : pairs) all_done = all_done && pair->done();
    if (all_done) return "";
    if (std::chrono::steady_clock::now() >= deadline) {
      return "relay time limit reached after " + std::to_string(accepted) + " connection(s)";
    }
    std::vector<pollfd> fds;
    std::vector<std::pair<Pair*, int>> owners;
    if (accepted < connections) {
      fds.push_back({listener, POLLIN, 0});
      owners.push_back({nullptr, 0});
    }
    for (const auto& pair : pairs) {
      for (int i = 0; i < 2; ++i) {
        if (!pair->open[i]) continue;
        fds.push_back({pair->sides[i].get(), POLLIN, 0});
        owners.push_back({pair.get(), i});
      }
    }
    if (poll(fds.data(), fds.size(), 200) < 0) return "poll failed";
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!owners[k].first) {
        auto pair = std::make_unique<Pair>();
        pair->sides[0] = UniqueFd(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
        if (pair->sides[0].get() < 0) return "accept failed";
        pair->sides[1] = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (connect(pair->sides[1].get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) !=
            0) {
          return "upstream connect failed";
        }
        out.push_back(make());
        pair->inspector = out.back().get();
        pairs.push_back(std::move(pair));
        ++accepted;
        continue;
      }
      std::string error = pump(*owners[k].first, owners[k].second, buffer);
      if (!error.empty()) return error;
    }
  }
}

std::string relay_one(int listener, const std::string& upstream_ip, int upstream_port,
                      inspect::Inspector& inspector, std::chrono::seconds limit) {
  std::vector<std::unique_ptr<inspect::Inspector>> unused;
  struct Borrowed final : inspect::Inspector {
    explicit Borrowed(inspect::Inspector& inner) : inner_(inner) {}
    std::string_view protocol() const override { return inner_.protocol(); }
    inspect::Verdict on_data(inspect::Direction d, std::span<const std::uint8_t> b) override {
      return inner_.on_data(d, b);
    }
    void on_close(inspect::Direction d) override { inner_.on_close(d); }
    std::string brief() const override { return inner_.brief(); }
    nlohmann::json detail() const override { return inner_.detail(); }
    inspect::Inspector& inner_;
  };
  return relay_many(
      listener, upstream_ip, upstream_port,
      [&] { return std::unique_ptr<inspect::Inspector>(std::make_unique<Borrowed>(inspector)); }, 1,
      limit, unused);
}

}  // namespace wb::test
