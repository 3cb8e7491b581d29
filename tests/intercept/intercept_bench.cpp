// Benchmark program (not a test; docs/benchmarks/intercept.md): new TLS connections per second
// (`openssl s_time -new`) and bulk HTTPS throughput (curl from `openssl s_server -WWW`), side by
// side in one run: direct to the server, through the relay with the plain handler, and through
// the relay with the interception handler (warm certificate cache). Loopback in a private
// network namespace; rounds are interleaved and medians reported, because the machine is noisy.
//
//   intercept_bench [seconds-per-run=4] [rounds=3] [bulk-MiB=64]
//   intercept_bench burst [names=200] [concurrency=16] [rounds=3]
//
// `burst`: a cold certificate cache. A server that presents a distinct certificate per SNI
// (tests/intercept/tls_peers.h) gets `names` new names at once from `concurrency` client threads
// through the interception relay (one worker), while one warm intercepted session keeps doing
// HTTP round trips on the same worker. Reports the forge time spent on the loop thread and that
// session's round-trip latency during the burst (what every other session on the worker feels).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <filesystem>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/intercept/intercept_service.h"
#include "agent/relay/plain_handler.h"
#include "agent/relay/relay.h"
#include "certs/cert_service.h"
#include "tests/intercept/test_pki.h"
#include "tests/intercept/tls_peers.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"
#include "tests/intercept/bench_support.h"

using namespace std::chrono_literals;
namespace wbi = wb::intercept;

namespace {

using namespace wb::test::bench;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct BurstResult {
  double seconds = 0;
  int ok = 0;
  std::vector<double> rtt_us;  // the warm session's round trips during the burst
};

// `names` cold handshakes from `concurrency` threads while a warm session does round trips.
BurstResult burst_round(const wb::session::Endpoint& relay, const std::string& issuer_file,
                        int names, int concurrency, int round) {
  BurstResult out;
  wb::test::TlsClient warm(relay, "warm.example.test", issuer_file, 20s);
  if (!warm.ok() || !warm.request()) {
    std::fprintf(stderr, "warm session: %s\n", warm.error().c_str());
    return out;
  }
  std::atomic<bool> done{false};
  std::atomic<int> next{0}, ok{0};
  std::thread pinger([&] {
    while (!done.load()) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!warm.request()) break;
      out.rtt_us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < names; i = next++) {
        const std::string sni =
            "cold-" + std::to_string(round) + "-" + std::to_string(i) + ".example.test";
        wb::test::TlsClient client(relay, sni, issuer_file, 30s);
        // One request: a client that leaves right after the handshake looks like pinning.
        if (client.ok() && client.peer_common_name() == sni && client.request()) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  pinger.join();
  out.ok = ok.load();
  return out;
}

int burst_main(int names, int concurrency, int rounds) {
  spdlog::set_level(spdlog::level::warn);  // one line per session would be the bottleneck
  const auto dir = wb::test::make_temp_dir("icpt-burst");
  auto ca = wb::test::make_ca("Burst Root");
  const auto ca_file = ca.write(dir, "ca");
  auto certs = open_certs(dir, 100000);
  const auto issuer_file = dir + "/issuer.pem";
  wb::test::SniTlsServer server(ca);
  wb::policy::Policy policy;
  auto service = make_service(policy, *certs, ca_file);
  wb::session::SessionTable table(100000);
  auto relay = start_relay(server.address().port(), service->factory(), table);
  const auto at = wb::session::Endpoint::loopback_v4(relay->listener_address(0).port());
  std::printf(
      "| round | cold handshakes ok | burst s | handshakes/s | warm RTT p50 us | p99 us | "
      "max us | round trips |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (int round = 0; round < rounds; ++round) {
    const auto r = burst_round(at, issuer_file, names, concurrency, round);
    std::printf("| %d | %d/%d | %.2f | %.0f | %.0f | %.0f | %.0f | %zu |\n", round, r.ok, names,
                r.seconds, r.seconds > 0 ? r.ok / r.seconds : 0, percentile(r.rtt_us, 0.5),
                percentile(r.rtt_us, 0.99), percentile(r.rtt_us, 1.0), r.rtt_us.size());
  }
  const auto stats = service->stats();
  std::printf(
      "\nloop-thread CPU per forged certificate: avg %.1f us, max %.1f us over %llu; queued to "
      "the certificate worker: %llu (wait until resumed: avg %.0f us, max %.0f us)\n",
      stats.forged ? stats.forge_ns_total / 1000.0 / stats.forged : 0.0,
      stats.forge_ns_max / 1000.0, static_cast<unsigned long long>(stats.forged),
      static_cast<unsigned long long>(stats.forge_queued),
      stats.forge_queued ? stats.forge_wait_ns_total / 1000.0 / stats.forge_queued : 0.0,
      stats.forge_wait_ns_max / 1000.0);
  relay.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "burst") == 0) {
    if (!wb::test::enter_private_netns()) {
      std::fprintf(stderr, "needs root (private network namespace)\n");
      return 77;
    }
    return burst_main(argc > 2 ? std::atoi(argv[2]) : 200, argc > 3 ? std::atoi(argv[3]) : 16,
                      argc > 4 ? std::atoi(argv[4]) : 3);
  }
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 4;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int bulk_mib = argc > 3 ? std::atoi(argv[3]) : 64;
  if (!wb::test::enter_private_netns()) {
    std::fprintf(stderr, "needs root (private network namespace)\n");
    return 77;
  }
  const auto dir = wb::test::make_temp_dir("icpt-bench");
  auto ca = wb::test::make_ca("Bench Root");
  auto leaf = wb::test::make_leaf(ca, "bench.example.test", {"bench.example.test"}, {"127.0.0.1"});
  const auto ca_file = ca.write(dir, "ca");
  leaf.write(dir, "server");
  wb::test::run("head -c " + std::to_string(bulk_mib) + "M /dev/urandom > " + dir + "/big.bin",
                60s);

  auto certs = open_certs(dir, 4096);
  const auto issuer_file = dir + "/issuer.pem";

  const std::uint16_t server_port = 24443;
  auto server = wb::test::Process::spawn(
      "cd " + dir + " && exec openssl s_server -quiet -accept 127.0.0.1:" +
          std::to_string(server_port) + " -cert server.crt -key server.key -WWW",
      dir + "/server.log");
  wb::test::eventually(
      [&] {
        return static_cast<bool>(
            wb::test::connect_to(wb::session::Endpoint::loopback_v4(server_port)));
      },
      10s);

  wb::policy::Policy policy;
  auto service = make_service(policy, *certs, ca_file);
  wb::session::SessionTable plain_table(100000), icpt_table(100000);
  auto plain = start_relay(server_port, wb::relay::plain_relay_factory(), plain_table);
  auto icpt = start_relay(server_port, service->factory(), icpt_table);
  // The same without upstream session resumption (every upstream handshake full).
  wb::policy::Policy full_policy;
  auto full_service = make_service(full_policy, *certs, ca_file, 0);
  wb::session::SessionTable full_table(100000);
  auto full = start_relay(server_port, full_service->factory(), full_table);
  const auto full_port = full->listener_address(0).port();
  const auto plain_port = plain->listener_address(0).port();
  const auto icpt_port = icpt->listener_address(0).port();

  s_time(icpt_port, issuer_file, 1);  // warm the forged-certificate cache (and sessions)
  s_time(full_port, issuer_file, 1);
  std::vector<double> cps_direct, cps_plain, cps_icpt, cps_full, mb_direct, mb_plain, mb_icpt;
  for (int round = 0; round < rounds; ++round) {
    cps_direct.push_back(s_time(server_port, ca_file, seconds));
    cps_plain.push_back(s_time(plain_port, ca_file, seconds));
    cps_icpt.push_back(s_time(icpt_port, issuer_file, seconds));
    cps_full.push_back(s_time(full_port, issuer_file, seconds));
    mb_direct.push_back(bulk(server_port, ca_file, "big.bin"));
    mb_plain.push_back(bulk(plain_port, ca_file, "big.bin"));
    mb_icpt.push_back(bulk(icpt_port, issuer_file, "big.bin"));
  }
  const auto stats = service->stats();
  const double d = median(cps_direct), p = median(cps_plain), i = median(cps_icpt);
  const double bd = median(mb_direct), bp = median(mb_plain), bi = median(mb_icpt);
  std::printf(
      "| path | new TLS conn/s (median of %d) | vs direct | bulk MiB/s (median) | vs direct |\n",
      rounds);
  std::printf("| --- | --- | --- | --- | --- |\n");
  std::printf("| direct | %.0f | 1.00 | %.0f | 1.00 |\n", d, bd);
  std::printf("| plain relay | %.0f | %.2f | %.0f | %.2f |\n", p, d > 0 ? p / d : 0, bp,
              bd > 0 ? bp / bd : 0);
  const double f = median(cps_full);
  std::printf("| intercept, no upstream resumption | %.0f | %.2f | - | - |\n", f,
              d > 0 ? f / d : 0);
  std::printf("| intercept (warm cache) | %.0f | %.2f | %.0f | %.2f |\n", i, d > 0 ? i / d : 0, bi,
              bd > 0 ? bi / bd : 0);
  std::printf(
      "\nforged certificates (loop-thread CPU): %llu, avg %.1f us, max %.1f us; intercepted %llu, "
      "tunnelled on error %llu\n",
      static_cast<unsigned long long>(stats.forged),
      stats.forged ? stats.forge_ns_total / 1000.0 / stats.forged : 0.0,
      stats.forge_ns_max / 1000.0, static_cast<unsigned long long>(stats.intercepted),
      static_cast<unsigned long long>(stats.tunnelled_on_error));
  std::printf("upstream handshakes resumed: %llu of %llu (sessions kept %zu)\n",
              static_cast<unsigned long long>(stats.upstream_resumed),
              static_cast<unsigned long long>(stats.intercepted),
              service->upstream_sessions()->size());
  full.reset();
  icpt.reset();
  plain.reset();
  server.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
