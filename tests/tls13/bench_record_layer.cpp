// Google Benchmark (not a test): RecordLayer seal+open against OpenSSL's SSL_write+SSL_read over
// memory BIOs for the same suite and record size, and the cost of keeping a keyed cipher context
// per direction versus keying a context for every record.
//   build-<dir>/tests/tls13/bench_record_layer --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>

#include "agent/tls13/record_aead.h"
#include "agent/tls13/record_layer.h"
#include "tests/tls13/openssl_pair.h"
#include "tests/tls13/tls13_test_util.h"

namespace {

using wb::tls13::Suite;

const char* const kSuiteNames[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256"};

// One record of state.range(1) bytes: client RecordLayer seals, server RecordLayer opens.
void BM_RecordLayer(benchmark::State& state) {
  const auto suite = static_cast<Suite>(state.range(0));
  const auto size = static_cast<std::size_t>(state.range(1));
  auto c = wb::test::make_layer(wb::test::fixed_handoff(suite, true));
  auto s = wb::test::make_layer(wb::test::fixed_handoff(suite, false));
  const wb::test::Bytes data = wb::test::pattern(size);
  wb::test::Bytes buf(16384);
  for (auto _ : state) {
    if (!c->write(data).ok()) state.SkipWithError("write");
    s->feed(c->output());
    c->consume_output();
    std::size_t got = 0;
    if (s->read_into(buf, got) != wb::test::Progress::kDone || got != size) {
      state.SkipWithError("read");
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// The same through libssl: SSL_write on the client, BIO to BIO, SSL_read on the server.
void BM_OpenSSL(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(1));
  wb::test::OpensslPair pair(kSuiteNames[state.range(0)], 0);
  if (!pair.handshake()) state.SkipWithError("handshake");
  const wb::test::Bytes data = wb::test::pattern(size);
  wb::test::Bytes buf(16384);
  SSL* server = pair.ssl(false);
  for (auto _ : state) {
    if (!pair.write(true, data)) state.SkipWithError("SSL_write");
    pair.flush(true);
    if (SSL_read(server, buf.data(), static_cast<int>(buf.size())) != static_cast<int>(size)) {
      state.SkipWithError("SSL_read");
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// RecordAead::seal with the context keyed once (what RecordLayer does while active) or keyed
// again for every record (what a shared per-thread context re-keyed per record would cost).
void BM_Seal(benchmark::State& state, bool rekey_each) {
  const auto suite = static_cast<Suite>(state.range(0));
  const auto size = static_cast<std::size_t>(state.range(1));
  wb::tls13::TrafficKeys keys;
  if (!wb::tls13::derive_traffic_keys(suite, wb::test::fixed_secret(suite, 1), keys).ok()) {
    state.SkipWithError("keys");
  }
  wb::tls13::RecordAead aead;
  const wb::test::Bytes data = wb::test::pattern(size);
  wb::test::Bytes out(size + 1 + wb::tls13::kTagLen);
  const std::array<std::uint8_t, 5> header = {23, 3, 3, 0, 0};
  std::uint64_t seq = 0;
  for (auto _ : state) {
    if (rekey_each) aead.rekey();
    if (!aead.seal(suite, keys, seq++, header, data, 23, out)) state.SkipWithError("seal");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
void BM_SealKeyedOnce(benchmark::State& state) {
  BM_Seal(state, false);
}
void BM_SealRekeyEachRecord(benchmark::State& state) {
  BM_Seal(state, true);
}

void suites_and_sizes(benchmark::internal::Benchmark* b) {
  for (int suite : {0, 2}) {
    for (int size : {100, 1024, 16384}) b->Args({suite, size});
  }
  b->ArgNames({"suite", "bytes"});
}

}  // namespace

BENCHMARK(BM_RecordLayer)->Apply(suites_and_sizes);
BENCHMARK(BM_OpenSSL)->Apply(suites_and_sizes);
BENCHMARK(BM_SealKeyedOnce)->Apply(suites_and_sizes);
BENCHMARK(BM_SealRekeyEachRecord)->Apply(suites_and_sizes);
BENCHMARK_MAIN();
