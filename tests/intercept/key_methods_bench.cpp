// Benchmark program (not a test; docs/benchmarks/compare.md): the interception relay's CPU per
// new intercepted connection with OpenSSL's built-in key methods installed and without them
// (agent/intercept/builtin_key_methods.h), interleaved in one process so that both see the same
// machine: `openssl s_time -new` through the relay to an `openssl s_server`, every upstream
// handshake full (no upstream resumption, so the server's certificate is parsed every time),
// forged certificates warm. CPU is this process's (relay worker + certificate service) user +
// system time over the run, divided by the connections s_time made. One row per server key type.
//
//   key_methods_bench [seconds-per-run=3] [rounds=7] [workers=1]
// With more than one worker, as many s_time clients run at once (the daemon runs one worker per
// CPU, and the built-in methods take OpenSSL's global engine lock for every key context).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/intercept/builtin_key_methods.h"
#include "tests/intercept/bench_support.h"

namespace {

using namespace wb::test::bench;
using wb::intercept::BuiltinKeyMethods;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Microseconds of this process's CPU per connection over `clients` concurrent s_time runs.
double cpu_us_per_connection(std::uint16_t port, const std::string& issuer_file, int seconds,
                             int clients) {
  const double before = cpu_seconds();
  std::vector<STime> runs(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (auto& run : runs) {
    threads.emplace_back(
        [&run, port, &issuer_file, seconds] { run = s_time_run(port, issuer_file, seconds); });
  }
  for (auto& t : threads) t.join();
  const double used = cpu_seconds() - before;
  double connections = 0;
  for (const auto& run : runs) connections += run.connections;
  return connections > 0 ? used * 1e6 / connections : 0;
}

struct Server {
  std::string name;
  wb::test::KeyKind kind;
  std::uint16_t port;
};

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const int workers = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
  if (!wb::test::enter_private_netns()) {
    std::fprintf(stderr, "needs root (private network namespace)\n");
    return 77;
  }
  spdlog::set_level(spdlog::level::warn);
  // Installed before the certificate service makes its keys, as the daemon does: every key it
  // signs with is then in built-in form, which works with and without the methods.
  auto methods = BuiltinKeyMethods::install();
  if (!methods.ok()) {
    std::fprintf(stderr, "%s\n", methods.error().message().c_str());
    return 1;
  }
  const auto dir = wb::test::make_temp_dir("keys-bench");
  std::vector<Server> servers = {{"EC P-256", wb::test::KeyKind::kEcP256, 24444},
                                 {"RSA-2048", wb::test::KeyKind::kRsa2048, 24445}};
  auto ca_ec = wb::test::make_ca("Bench EC Root");
  auto ca_rsa = wb::test::make_ca("Bench RSA Root", wb::test::KeyKind::kRsa2048);
  const std::string ca_file = dir + "/cas.pem";
  wb::test::write_text(ca_file, ca_ec.cert_pem() + ca_rsa.cert_pem());
  auto certs = open_certs(dir, 4096);
  const auto issuer_file = dir + "/issuer.pem";

  std::vector<wb::test::Process> processes;
  std::vector<std::unique_ptr<wb::relay::Relay>> relays;
  std::vector<std::unique_ptr<wb::session::SessionTable>> tables;
  wb::policy::Policy policy;
  auto service = make_service(policy, *certs, ca_file, 0);  // no upstream resumption
  std::vector<std::uint16_t> relay_ports;
  for (const auto& s : servers) {
    const auto& ca = s.kind == wb::test::KeyKind::kEcP256 ? ca_ec : ca_rsa;
    auto leaf = wb::test::make_leaf(ca, "bench.example.test", {"bench.example.test"}, {"127.0.0.1"},
                                    s.kind);
    const std::string stem = s.kind == wb::test::KeyKind::kEcP256 ? "ec" : "rsa";
    leaf.write(dir, stem);
    processes.push_back(wb::test::Process::spawn(
        "cd " + dir + " && exec openssl s_server -quiet -accept 127.0.0.1:" +
            std::to_string(s.port) + " -cert " + stem + ".crt -key " + stem + ".key -www",
        dir + "/" + stem + ".log"));
    wb::test::eventually(
        [&] {
          return static_cast<bool>(
              wb::test::connect_to(wb::session::Endpoint::loopback_v4(s.port)));
        },
        10s);
    tables.push_back(std::make_unique<wb::session::SessionTable>(100000));
    relays.push_back(
        start_relay(s.port, service->factory(), *tables.back(), static_cast<std::size_t>(workers)));
    relay_ports.push_back(relays.back()->listener_address(0).port());
    s_time(relay_ports.back(), issuer_file, 1);  // warm the forged certificate
  }

  std::printf(
      "%d worker(s), %d s_time client(s)\n\n| server key | built-in us/conn (median of "
      "%d) | providers us/conn | built-in / providers |\n| --- | --- | --- | --- |\n",
      workers, workers, rounds);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    std::vector<double> on, off;
    for (int round = 0; round < rounds; ++round) {
      // Alternate which goes first, so neither always follows the other.
      for (bool builtin : round % 2 == 0 ? std::vector{true, false} : std::vector{false, true}) {
        if (builtin && !methods->get()) {
          methods = BuiltinKeyMethods::install();
          if (!methods.ok()) return 1;
        }
        if (!builtin) methods->reset();
        (builtin ? on : off)
            .push_back(cpu_us_per_connection(relay_ports[i], issuer_file, seconds, workers));
      }
    }
    const double a = median(on), b = median(off);
    std::printf("| %s | %.0f | %.0f | %.2f |\n", servers[i].name.c_str(), a, b, b > 0 ? a / b : 0);
    std::fflush(stdout);
  }
  const auto stats = service->stats();
  std::printf("\nintercepted %llu, tunnelled on error %llu, upstream resumed %llu\n",
              static_cast<unsigned long long>(stats.intercepted),
              static_cast<unsigned long long>(stats.tunnelled_on_error),
              static_cast<unsigned long long>(stats.upstream_resumed));
  relays.clear();
  for (auto& p : processes) p.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
