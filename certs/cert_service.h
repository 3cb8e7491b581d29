// The certificates service the daemon owns: both issuer keyrings, the key pool, the forged
// certificate cache, the revocation stores, CRLs, OCSP and stapling. All methods are thread-safe.
//
// Cost on the caller's thread (docs/benchmarks/certs.md, per core, CPU time): lookup()/forge() on
// a cache hit ~1.2 us (SHA-256 of the server certificate + LRU lookup); a cold forge ~100 us
// (builds the certificate and signs it with the issuer's EC P-256 key; no key generation: keys
// come from the pool; an RSA key when the pool ran dry: tens of ms). An event loop must not pay
// for misses: forge_or_queue() answers hits at once and hands misses to the service's worker.
//
// Typical use by the interceptor (agent/intercept/intercept_handler.cpp):
//   auto svc = CertService::open(cfg);            // at start-up; then svc->wait_ready()
//   ForgeRequest req{leaf, verified, key_types_from_signature_schemes(client_sigalgs)};
//   auto hit = svc->forge_or_queue(req, now, done);  // miss: done(result) on the worker later
//   if (client asked status_request) staple = svc->staple(*forged, now);
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/common/result.h"
#include "certs/cert_cache.h"
#include "certs/crl.h"
#include "certs/crl_host.h"
#include "certs/http_handler.h"
#include "certs/key_pool.h"
#include "certs/keyring.h"
#include "certs/ocsp_responder.h"
#include "certs/revocation_store.h"

namespace wb::certs {

struct CertConfig {
  std::filesystem::path state_dir = "/var/lib/wirebump";
  bool ephemeral = false;  // keyrings and stores in memory only (tests, fuzzers)
  std::string crl_host;    // required: host name or IP, validated by validate_crl_host()
  std::chrono::seconds max_validity{std::chrono::hours(24 * 397)};
  std::size_t cache_capacity = 4096;
  std::size_t ec_pool_keys = 4;
  std::size_t rsa_pool_keys = 2;
  CrlTiming crl{};
  OcspTiming ocsp{};
  std::chrono::seconds staple_lifetime{std::chrono::minutes(5)};
  // Misses queued for the worker thread at once (forge_or_queue): a burst of new sites beyond
  // this gets resource_unavailable_try_again instead of an unbounded queue.
  std::size_t max_pending_forges = 1024;
};

struct ForgeRequest {
  X509* server_leaf = nullptr;   // the real server's leaf certificate (not owned, read only)
  bool server_verified = false;  // false -> signed by the UNTRUSTED issuer
  KeyTypes client_accepts{};     // empty = unknown: mirror the server
};

class CertService final : public HttpBackend {
 public:
  static Result<std::unique_ptr<CertService>> open(CertConfig config);
  ~CertService() override;  // stops the worker and flushes the journals

  // Blocks until the key pool has one key of each type (start-up only).
  bool wait_ready(std::chrono::milliseconds timeout);

  // Cache only: the forged certificate if already made, else nullptr (counts a hit or miss).
  std::shared_ptr<const ForgedCert> lookup(const ForgeRequest& req, std::int64_t now);
  // Cache, else forge (records the serial, inserts into the cache).
  Result<std::shared_ptr<const ForgedCert>> forge(const ForgeRequest& req, std::int64_t now);
  // forge() on the service's worker thread; `done` runs on that thread (post it to your loop).
  // The leaf is up-ref'd for the duration, so the caller may free its reference at once.
  using ForgeCallback = std::function<void(Result<std::shared_ptr<const ForgedCert>>)>;
  void forge_async(const ForgeRequest& req, std::int64_t now, ForgeCallback done);
  // For event loops: a cache hit is returned at once (`done` is not called). A miss returns
  // nullptr and is forged on the worker thread, where `done` runs; it is counted as one miss
  // (the worker does not count again). `done` runs at once on the caller's thread, with an
  // error, for an invalid request or when max_pending_forges misses already wait. Misses for
  // one server certificate queued together are forged once (the later ones find the first).
  std::shared_ptr<const ForgedCert> forge_or_queue(const ForgeRequest& req, std::int64_t now,
                                                   ForgeCallback done);
  std::size_t pending_forges() const;

  // DER OCSP response for a forged certificate (for stapling); cached for staple_lifetime and
  // rebuilt at once after a revocation.
  Result<std::shared_ptr<const Bytes>> staple(const ForgedCert& forged, std::int64_t now);

  // `wirebump cert revoke SERIAL`: revokes it at whichever issuer issued it and regenerates that
  // issuer's CRL at once.
  Status revoke(std::string_view serial, std::int64_t now);
  // `wirebump crl regenerate`: both CRLs, numbers increment.
  Status regenerate_crls(std::int64_t now);
  bool crl_due(std::int64_t now) const;
  // Call periodically (every few seconds): flushes issued serials to the journals, forgets
  // serials of certificates expired for a day, and regenerates any CRL that is due.
  Status maintain(std::int64_t now);

  const Keyring& issuer(IssuerRole role) const;
  KeyringInfo info(IssuerRole role) const;
  const std::string& crl_host() const { return crl_host_; }
  CacheStats cache_stats() const { return cache_.stats(); }
  KeyPool::Progress key_pool() const { return pool_.progress(); }
  SerialStatus serial_status(std::string_view serial) const;
  std::uint64_t crl_number(IssuerRole role) const;

  // HttpBackend (handle_http(bytes, service, now) serves the endpoints).
  std::shared_ptr<const Bytes> crl_der(std::string_view issuer_id) const override;
  const Bytes* ca_der(std::string_view issuer_id) const override;
  const std::string* ca_pem(std::string_view issuer_id) const override;
  Bytes ocsp(std::span<const std::uint8_t> request_der, std::int64_t now) const override;

  // Per-issuer state (keyring, revocation store, CRL, staples); opaque outside the service.
  struct Issuer;

 private:
  CertService(CertConfig config, std::string crl_host);
  Issuer& issuer_state(IssuerRole role) const;
  const Issuer* find_issuer(std::string_view id) const;
  void worker_loop();
  // The miss path of forge(): builds, signs, records and caches a certificate for `key`.
  Result<std::shared_ptr<const ForgedCert>> forge_new(const CacheKey& key, X509* leaf,
                                                      std::int64_t now);

  CertConfig config_;
  std::string crl_host_;
  std::unique_ptr<Issuer> trusted_, untrusted_;
  KeyPool pool_;
  CertCache cache_;

  mutable std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> work_;
  std::size_t pending_ = 0;  // forge_or_queue jobs queued or running
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace wb::certs
