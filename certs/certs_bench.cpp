// Google Benchmark: forged certificates per second per core, cold (every forge a cache miss) and
// warm (cache hit), for EC P-256 and RSA-2048 forged keys, plus the revocation paths the bridge
// serves. Single-threaded; items_per_second is computed from CPU time, i.e. per core (the
// machine is shared, so wall time includes other tenants' load).
//   build-<you>/certs/certs_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <ctime>
#include <vector>

#include "certs/cert_service.h"
#include "certs/http_handler.h"

namespace wb::certs {
namespace {

// Server leaves as a real upstream would send them (an upstream CA signs them).
struct Upstream {
  EvpPkeyPtr ca_key, ec_key, rsa_key;
  X509Ptr ca;
  std::vector<X509Ptr> ec_leaves, rsa_leaves;

  X509Ptr make(const std::string& cn, EVP_PKEY* key, EVP_PKEY* signer, X509* issuer, bool is_ca) {
    X509Ptr c(X509_new());
    X509_set_version(c.get(), X509_VERSION_3);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial++);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(c.get(), X509_get_subject_name(issuer ? issuer : c.get()));
    X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c.get()), 90L * 86400);
    X509_set_pubkey(c.get(), key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
    std::string san = "DNS:" + cn + ",DNS:www." + cn + ",IP:192.0.2.2";
    for (auto [nid, value] : std::vector<std::pair<int, std::string>>{
             {NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
             {NID_key_usage, is_ca ? "critical,keyCertSign" : "critical,digitalSignature"},
             {NID_subject_alt_name, san}}) {
      X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
      X509_add_ext(c.get(), ext.get(), -1);
    }
    if (!is_ca) {
      X509ExtensionPtr eku(X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, "serverAuth"));
      X509_add_ext(c.get(), eku.get(), -1);
    }
    X509_sign(c.get(), signer, EVP_sha256());
    // As the interceptor gets it: parsed from the wire (OpenSSL caches its DER encoding).
    return std::move(cert_from_der(cert_to_der(c.get()).value())).value();
  }

  Upstream() {
    ca_key = std::move(generate_key(KeyType::ec_p256)).value();
    ec_key = std::move(generate_key(KeyType::ec_p256)).value();
    rsa_key = std::move(generate_key(KeyType::rsa2048)).value();
    ca = make("Upstream Bench Root", ca_key.get(), ca_key.get(), nullptr, true);
    for (int i = 0; i < 64; ++i) {
      std::string cn = "site" + std::to_string(i) + ".example.test";
      ec_leaves.push_back(make(cn, ec_key.get(), ca_key.get(), ca.get(), false));
      rsa_leaves.push_back(make(cn, rsa_key.get(), ca_key.get(), ca.get(), false));
    }
  }
};

Upstream& upstream() {
  static Upstream u;
  return u;
}

std::unique_ptr<CertService> service(std::size_t cache_capacity) {
  CertConfig cfg;
  cfg.ephemeral = true;
  cfg.crl_host = "crl.bench.test";
  cfg.cache_capacity = cache_capacity;
  // One key of each type, all made before measuring: no generator thread competes.
  cfg.ec_pool_keys = 1;
  cfg.rsa_pool_keys = 1;
  auto svc = std::move(CertService::open(cfg)).value();
  svc->wait_ready(std::chrono::seconds(60));
  return svc;
}

// arg 0: EC forged key, 1: RSA forged key (mirroring an EC / RSA server).
void BM_ForgeCold(benchmark::State& state) {
  bool rsa = state.range(0) == 1;
  auto& leaves = rsa ? upstream().rsa_leaves : upstream().ec_leaves;
  auto svc = service(1);  // capacity 1 and 64 rotating leaves: every forge is a miss
  std::int64_t now = std::time(nullptr);
  std::size_t i = 0;
  for (auto _ : state) {
    auto f =
        svc->forge(ForgeRequest{leaves[i++ % leaves.size()].get(), true, KeyTypes::any()}, now);
    if (!f.ok()) state.SkipWithError(f.error().message().c_str());
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["misses"] = static_cast<double>(svc->cache_stats().misses);
  state.SetLabel(rsa ? "RSA-2048 forged key" : "EC P-256 forged key");
}
BENCHMARK(BM_ForgeCold)->Arg(0)->Arg(1);

void BM_ForgeWarm(benchmark::State& state) {
  bool rsa = state.range(0) == 1;
  X509* leaf = (rsa ? upstream().rsa_leaves : upstream().ec_leaves)[0].get();
  auto svc = service(4096);
  std::int64_t now = std::time(nullptr);
  (void)svc->forge(ForgeRequest{leaf, true, KeyTypes::any()}, now);
  for (auto _ : state) {
    auto f = svc->forge(ForgeRequest{leaf, true, KeyTypes::any()}, now);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits"] = static_cast<double>(svc->cache_stats().hits);
  state.SetLabel(rsa ? "RSA-2048 forged key" : "EC P-256 forged key");
}
BENCHMARK(BM_ForgeWarm)->Arg(0)->Arg(1);

Bytes ocsp_request_for(X509* cert, X509* issuer) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  OCSP_request_add1_nonce(req.get(), nullptr, -1);
  int len = i2d_OCSP_REQUEST(req.get(), nullptr);
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_OCSP_REQUEST(req.get(), &p);
  return der;
}

void BM_OcspRespond(benchmark::State& state) {
  auto svc = service(16);
  std::int64_t now = std::time(nullptr);
  auto f = svc->forge(ForgeRequest{upstream().ec_leaves[0].get(), true, {}}, now).value();
  Bytes req = ocsp_request_for(f->cert.get(), svc->issuer(IssuerRole::trusted).cert());
  for (auto _ : state) benchmark::DoNotOptimize(svc->ocsp(req, now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OcspRespond);

void BM_StapleHit(benchmark::State& state) {
  auto svc = service(16);
  std::int64_t now = std::time(nullptr);
  auto f = svc->forge(ForgeRequest{upstream().ec_leaves[0].get(), true, {}}, now).value();
  (void)svc->staple(*f, now);
  for (auto _ : state) benchmark::DoNotOptimize(svc->staple(*f, now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StapleHit);

// CRL regeneration with N revoked serials.
void BM_CrlRegenerate(benchmark::State& state) {
  auto svc = service(1);
  std::int64_t now = std::time(nullptr);
  for (int i = 0; i < state.range(0); ++i) {
    auto f = svc->forge(ForgeRequest{upstream().ec_leaves[i % 64].get(), true, {}}, now).value();
    (void)svc->revoke(f->serial, now);
  }
  for (auto _ : state) benchmark::DoNotOptimize(svc->regenerate_crls(now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CrlRegenerate)->Arg(0)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_HttpCrl(benchmark::State& state) {
  auto svc = service(1);
  std::string req = "GET /wirebump/crl/" + svc->issuer(IssuerRole::trusted).id() +
                    ".crl HTTP/1.1\r\nHost: crl.bench.test\r\n\r\n";
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(req.data()),
                                      req.size());
  for (auto _ : state) benchmark::DoNotOptimize(handle_http(bytes, *svc, 0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HttpCrl);

}  // namespace
}  // namespace wb::certs

BENCHMARK_MAIN();
