// Benchmark program (not a test; docs/BENCHMARKS.md, tests/bench/compare.sh): the CPU OpenSSL
// alone spends on the two TLS 1.3 handshakes every intercepted connection costs the bridge. One
// as server, signing with a forged P-256 certificate (towards the client); one as client,
// checking a P-256 server's signature (towards the real server). An in-memory client and server
// in one thread make exactly that pair: no sockets, no kernel, no wirebump code. What it prints
// is the floor under wirebump's CPU per new connection on this machine at this moment; the
// machine is shared and its speed moves by tens of percent within an hour, so compare.sh runs
// this beside its own measurement and quotes the ratio.
//
// Settings as the bridge's: X25519 key shares, TLS_AES_256_GCM_SHA384, no tickets, no chain
// verification (the bridge verifies each upstream chain once and keeps the result), OpenSSL's
// built-in key methods installed (agent/intercept/builtin_key_methods.h) and keys in built-in
// form. Variants, interleaved round by round so that each sees the same machine:
//   floor       the settings above
//   +tracking   plus the key-log and message callbacks compaction relies on (no-op here: what
//               OpenSSL itself spends formatting every secret as text and reporting records)
//   providers   without the built-in key methods (OpenSSL 3.0's providers for every key)
//
// With `threads` > 1, that many threads make handshakes at once and the CPU per connection is
// theirs over their handshakes: the floor with every vCPU busy, as in a benchmark that loads the
// machine. Here that costs 1.2-1.6 x the single-thread floor (two instances, one per vCPU: 699
// and 939 us against 587 and 601 us alone): the two vCPUs share more than their names suggest.
//
//   handshake_floor_bench [seconds-per-variant-per-round=1] [rounds=5] [threads=1]
// Prints a Markdown table, then "floor_us=N tracking_us=N providers_us=N" (medians,
// microseconds of CPU per connection) for scripts. Measured here: the key-log callback is nearly
// all of +tracking's cost (OpenSSL formats each secret byte with sprintf before calling it); the
// message callback alone is within the noise.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "agent/intercept/builtin_key_methods.h"
#include "agent/intercept/ossl_types.h"
#include "certs/ossl.h"
#include "tests/intercept/bench_support.h"
#include "tests/intercept/test_pki.h"

namespace {

using wb::intercept::BuiltinKeyMethods;
using wb::test::bench::median;

using wb::intercept::SslCtxPtr;
using wb::intercept::SslPtr;

// This thread's CPU time: with several threads each counts its own.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void no_keylog(const SSL*, const char*) {}
void no_msg(int, int, int, const void*, size_t, SSL*, void*) {}

struct Contexts {
  SslCtxPtr server;
  SslCtxPtr client;
};

// Both contexts for one variant. The server's key is converted to built-in form, as
// certs::key_from_pem and the forging pool do for the bridge's keys.
Contexts make_contexts(const wb::test::CertAndKey& leaf, bool tracking) {
  Contexts c{SslCtxPtr(SSL_CTX_new(TLS_server_method())),
             SslCtxPtr(SSL_CTX_new(TLS_client_method()))};
  auto key = wb::certs::legacy_form(leaf.key.get());
  // The leaf alone, as the lab's nginx sends it: the client parses one certificate.
  if (!key.ok() ||
      SSL_CTX_use_cert_and_key(c.server.get(), leaf.cert.get(), key->get(), nullptr, 1) != 1) {
    ERR_print_errors_fp(stderr);
    std::exit(1);
  }
  for (SSL_CTX* ctx : {c.server.get(), c.client.get()}) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set1_groups_list(ctx, "X25519");
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384");
    if (tracking) {
      SSL_CTX_set_keylog_callback(ctx, &no_keylog);
      SSL_CTX_set_msg_callback(ctx, &no_msg);
    }
  }
  SSL_CTX_set_num_tickets(c.server.get(), 0);
  SSL_CTX_set_verify(c.client.get(), SSL_VERIFY_NONE, nullptr);
  // The bridge verifies a server's chain once and keeps the verdict (VerifyCache): here every
  // chain passes without X509_verify_cert, as a kept verdict does.
  SSL_CTX_set_cert_verify_callback(
      c.client.get(), [](X509_STORE_CTX*, void*) { return 1; }, nullptr);
  return c;
}

// One full handshake between fresh endpoints; false if it did not complete.
bool handshake(const Contexts& c) {
  SslPtr client(SSL_new(c.client.get()));
  SslPtr server(SSL_new(c.server.get()));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!client || !server || BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) return false;
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_tlsext_host_name(client.get(), "bench.example.test");
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  for (int step = 0; step < 16; ++step) {
    const int a = SSL_do_handshake(client.get());
    const int b = SSL_do_handshake(server.get());
    if (a == 1 && b == 1) return true;
  }
  return false;
}

struct Spent {
  double cpu = 0;
  int handshakes = 0;
};

// Handshakes for about `seconds` of this thread's CPU.
Spent run_handshakes(const Contexts& c, double seconds) {
  const double start = cpu_seconds();
  Spent spent;
  while (cpu_seconds() - start < seconds) {
    for (int i = 0; i < 20; ++i) {
      if (!handshake(c)) {
        std::fprintf(stderr, "handshake failed\n");
        ERR_print_errors_fp(stderr);
        std::exit(1);
      }
    }
    spent.handshakes += 20;
  }
  spent.cpu = cpu_seconds() - start;
  return spent;
}

// Microseconds of CPU per handshake pair, `threads` at once for about `seconds` each.
double measure(const Contexts& c, double seconds, int threads) {
  std::vector<Spent> spent(static_cast<std::size_t>(threads));
  std::vector<std::thread> running;
  for (auto& s : spent) running.emplace_back([&c, &s, seconds] { s = run_handshakes(c, seconds); });
  for (auto& t : running) t.join();
  Spent total;
  for (const auto& s : spent) {
    total.cpu += s.cpu;
    total.handshakes += s.handshakes;
  }
  return total.cpu * 1e6 / total.handshakes;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  if (seconds <= 0 || seconds > 60 || rounds < 1 || rounds > 100 || threads < 1 || threads > 64) {
    std::fprintf(stderr,
                 "usage: handshake_floor_bench [seconds 0-60] [rounds 1-100] [threads 1-64]\n");
    return 2;
  }
  auto methods = BuiltinKeyMethods::install();
  if (!methods.ok()) {
    std::fprintf(stderr, "%s\n", methods.error().message().c_str());
    return 1;
  }
  const auto ca = wb::test::make_ca("Bench EC Root");
  const auto leaf = wb::test::make_leaf(ca, "bench.example.test", {"bench.example.test"});
  const Contexts floor = make_contexts(leaf, /*tracking=*/false);
  const Contexts tracking = make_contexts(leaf, /*tracking=*/true);
  handshake(floor);  // warm OpenSSL's caches (method fetches, group tables)

  std::vector<double> floor_us, tracking_us, providers_us;
  for (int round = 0; round < rounds; ++round) {
    floor_us.push_back(measure(floor, seconds, threads));
    tracking_us.push_back(measure(tracking, seconds, threads));
    methods->reset();  // providers: contexts made before keep their built-in server key
    providers_us.push_back(measure(floor, seconds, threads));
    methods = BuiltinKeyMethods::install();
    if (!methods.ok()) return 1;
  }
  const double f = median(floor_us), t = median(tracking_us), p = median(providers_us);
  std::printf(
      "| OpenSSL alone, one server + one client TLS 1.3 handshake (median of %d, %d thread(s)) "
      "| us CPU | x floor |\n| --- | ---: | ---: |\n",
      rounds, threads);
  std::printf("| floor (built-in key methods, no callbacks) | %.0f | 1.00 |\n", f);
  std::printf("| + key-log and message callbacks (compaction's tracking) | %.0f | %.2f |\n", t,
              t / f);
  std::printf("| providers instead of built-in key methods | %.0f | %.2f |\n", p, p / f);
  std::printf("floor_us=%.0f tracking_us=%.0f providers_us=%.0f\n", f, t, p);
  return 0;
}
