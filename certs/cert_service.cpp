#include "certs/cert_service.h"

#include <ctime>
#include <unordered_map>

#include "certs/forge.h"
#include "certs/state_files.h"

namespace wb::certs {

struct CertService::Issuer {
  Keyring keyring;
  std::unique_ptr<RevocationStore> store;
  std::unique_ptr<CrlPublisher> crl;
  RevocationUrls urls;

  struct Staple {
    std::shared_ptr<const Bytes> der;
    std::int64_t expires;
    std::uint64_t generation;
  };
  std::mutex staple_mu;
  std::unordered_map<std::string, Staple> staples;  // by serial

  OcspIssuer ocsp() const { return OcspIssuer{&keyring, store.get()}; }
};

namespace {

constexpr int kSerialAttempts = 4;

Result<std::unique_ptr<CertService::Issuer>> open_issuer(const CertConfig& cfg, IssuerRole role,
                                                         const std::string& host,
                                                         std::int64_t now) {
  auto issuer = std::make_unique<CertService::Issuer>();
  auto ring =
      cfg.ephemeral ? Keyring::generate(role) : Keyring::load_or_create(cfg.state_dir, role);
  if (!ring.ok()) return ring.error();
  issuer->keyring = std::move(ring).value();
  const std::string& id = issuer->keyring.id();
  issuer->urls = revocation_urls(host, id);
  std::filesystem::path number_file;
  if (cfg.ephemeral) {
    issuer->store = RevocationStore::in_memory();
  } else {
    std::filesystem::path dir = cfg.state_dir / "revocation";
    WB_TRY(ensure_private_dir(dir));
    WB_TRY_ASSIGN(issuer->store, RevocationStore::open(dir / (id + ".journal"), now));
    number_file = dir / (id + ".crlnumber");
  }
  WB_TRY_ASSIGN(issuer->crl,
                CrlPublisher::open(issuer->keyring, *issuer->store, number_file, cfg.crl, now));
  return issuer;
}

}  // namespace

CertService::CertService(CertConfig config, std::string crl_host)
    : config_(std::move(config)),
      crl_host_(std::move(crl_host)),
      pool_(config_.ec_pool_keys, config_.rsa_pool_keys),
      cache_(config_.cache_capacity) {
  worker_ = std::thread([this] { worker_loop(); });
}

CertService::~CertService() {
  {
    std::lock_guard lock(work_mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
  for (Issuer* i : {trusted_.get(), untrusted_.get()}) {
    if (i != nullptr) (void)i->store->flush();
  }
}

Result<std::unique_ptr<CertService>> CertService::open(CertConfig config) {
  auto host = validate_crl_host(config.crl_host);
  if (!host.ok()) return host.error();
  if (config.max_validity.count() <= 0) {
    return make_error(std::errc::invalid_argument, "max_validity must be positive");
  }
  std::int64_t now = std::time(nullptr);
  std::unique_ptr<CertService> svc(new CertService(std::move(config), *host));
  WB_TRY_ASSIGN(svc->trusted_, open_issuer(svc->config_, IssuerRole::trusted, *host, now));
  WB_TRY_ASSIGN(svc->untrusted_, open_issuer(svc->config_, IssuerRole::untrusted, *host, now));
  if (svc->trusted_->keyring.id() == svc->untrusted_->keyring.id()) {
    return make_error(std::errc::invalid_argument,
                      "the trusted and untrusted issuers share one key; they must differ");
  }
  return svc;
}

bool CertService::wait_ready(std::chrono::milliseconds timeout) {
  return pool_.wait_ready(timeout);
}

CertService::Issuer& CertService::issuer_state(IssuerRole role) const {
  return role == IssuerRole::trusted ? *trusted_ : *untrusted_;
}

const Keyring& CertService::issuer(IssuerRole role) const {
  return issuer_state(role).keyring;
}

KeyringInfo CertService::info(IssuerRole role) const {
  return issuer(role).info(crl_host_);
}

namespace {
Result<CacheKey> cache_key_for(const ForgeRequest& req) {
  if (req.server_leaf == nullptr) {
    return make_error(std::errc::invalid_argument, "forge: no server certificate");
  }
  CacheKey key{};
  WB_TRY_ASSIGN(key.server_sha256, cert_sha256(req.server_leaf));
  key.key_type =
      choose_key_type(key_type_of(X509_get0_pubkey(req.server_leaf)), req.client_accepts);
  // Never turn an unverified site into a trusted one: the verdict picks the issuer.
  key.issuer = req.server_verified ? IssuerRole::trusted : IssuerRole::untrusted;
  return key;
}
}  // namespace

std::shared_ptr<const ForgedCert> CertService::lookup(const ForgeRequest& req, std::int64_t now) {
  auto key = cache_key_for(req);
  return key.ok() ? cache_.find(*key, now) : nullptr;
}

Result<std::shared_ptr<const ForgedCert>> CertService::forge(const ForgeRequest& req,
                                                             std::int64_t now) {
  WB_TRY_ASSIGN(CacheKey key, cache_key_for(req));
  if (auto hit = cache_.find(key, now)) return hit;
  return forge_new(key, req.server_leaf, now);
}

Result<std::shared_ptr<const ForgedCert>> CertService::forge_new(const CacheKey& key, X509* leaf,
                                                                 std::int64_t now) {
  Issuer& iss = issuer_state(key.issuer);
  WB_TRY_ASSIGN(EvpPkeyPtr pkey, pool_.get(key.key_type));
  for (int attempt = 0; attempt < kSerialAttempts; ++attempt) {
    ForgeParams params;
    params.leaf = leaf;
    params.key = pkey.get();
    params.issuer = &iss.keyring;
    params.urls = &iss.urls;
    params.serial = random_serial();
    params.now = now;
    params.max_validity = config_.max_validity;
    WB_TRY_ASSIGN(X509Ptr cert, forge_certificate(params));
    WB_TRY_ASSIGN(std::int64_t not_after, asn1_time_to_epoch(X509_get0_notAfter(cert.get())));
    if (!iss.store->record_issued(params.serial, not_after)) continue;  // serial collision
    auto forged = std::make_shared<const ForgedCert>(
        ForgedCert{std::move(cert), std::move(pkey), iss.keyring.cert(), key.issuer, key.key_type,
                   params.serial, not_after});
    cache_.insert(key, forged);
    return std::shared_ptr<const ForgedCert>(forged);
  }
  return make_error(std::errc::resource_unavailable_try_again, "forge: no unused serial found");
}

void CertService::forge_async(const ForgeRequest& req, std::int64_t now, ForgeCallback done) {
  auto leaf = std::make_shared<X509Ptr>(share_cert(req.server_leaf));
  ForgeRequest copy = req;
  {
    std::lock_guard lock(work_mu_);
    work_.push_back([this, leaf, copy, now, done = std::move(done)]() mutable {
      copy.server_leaf = leaf->get();
      done(forge(copy, now));
    });
  }
  work_cv_.notify_one();
}

std::shared_ptr<const ForgedCert> CertService::forge_or_queue(const ForgeRequest& req,
                                                              std::int64_t now,
                                                              ForgeCallback done) {
  auto key = cache_key_for(req);
  if (!key) {
    done(key.error());
    return nullptr;
  }
  if (auto hit = cache_.find(*key, now)) return hit;
  auto leaf = std::make_shared<X509Ptr>(share_cert(req.server_leaf));
  {
    std::lock_guard lock(work_mu_);
    if (pending_ >= config_.max_pending_forges) {
      done(make_error(std::errc::resource_unavailable_try_again,
                      "forge: " + std::to_string(pending_) + " certificates already queued"));
      return nullptr;
    }
    ++pending_;
    work_.push_back([this, leaf, key = *key, now, done = std::move(done)] {
      // A job queued earlier for the same server certificate may have made it meanwhile.
      auto hit = cache_.peek(key, now);
      Result<std::shared_ptr<const ForgedCert>> forged =
          hit ? Result<std::shared_ptr<const ForgedCert>>(hit) : forge_new(key, leaf->get(), now);
      {
        std::lock_guard lock(work_mu_);
        --pending_;
      }
      done(std::move(forged));
    });
  }
  work_cv_.notify_one();
  return nullptr;
}

std::size_t CertService::pending_forges() const {
  std::lock_guard lock(work_mu_);
  return pending_;
}

void CertService::worker_loop() {
  std::unique_lock lock(work_mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !work_.empty(); });
    if (work_.empty()) return;  // stopping, nothing left
    auto job = std::move(work_.front());
    work_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

Result<std::shared_ptr<const Bytes>> CertService::staple(const ForgedCert& forged,
                                                         std::int64_t now) {
  Issuer& iss = issuer_state(forged.issuer);
  std::uint64_t generation = iss.store->generation();
  {
    std::lock_guard lock(iss.staple_mu);
    auto it = iss.staples.find(forged.serial);
    if (it != iss.staples.end() && it->second.expires > now &&
        it->second.generation == generation) {
      return it->second.der;
    }
  }
  WB_TRY_ASSIGN(Bytes der, ocsp_response_for(forged.cert.get(), iss.ocsp(), now, config_.ocsp));
  auto shared = std::make_shared<const Bytes>(std::move(der));
  std::lock_guard lock(iss.staple_mu);
  // Bounded like the certificate cache: drop everything stale, then everything if still full.
  if (iss.staples.size() >= config_.cache_capacity) {
    std::erase_if(iss.staples, [&](const auto& kv) { return kv.second.expires <= now; });
    if (iss.staples.size() >= config_.cache_capacity) iss.staples.clear();
  }
  iss.staples[forged.serial] = {shared, now + config_.staple_lifetime.count(), generation};
  return shared;
}

Status CertService::revoke(std::string_view text, std::int64_t now) {
  WB_TRY_ASSIGN(std::string serial, normalize_serial(text));
  for (Issuer* iss : {trusted_.get(), untrusted_.get()}) {
    if (!iss->store->knows(serial)) continue;
    WB_TRY(iss->store->revoke(serial, now));
    return iss->crl->regenerate(now);
  }
  return make_error(std::errc::no_such_file_or_directory,
                    "serial " + serial + " was not issued by this bridge's issuers");
}

Status CertService::regenerate_crls(std::int64_t now) {
  WB_TRY(trusted_->crl->regenerate(now));
  return untrusted_->crl->regenerate(now);
}

bool CertService::crl_due(std::int64_t now) const {
  return trusted_->crl->due(now) || untrusted_->crl->due(now);
}

Status CertService::maintain(std::int64_t now) {
  for (Issuer* iss : {trusted_.get(), untrusted_.get()}) {
    WB_TRY(iss->store->flush());
    // Expired revoked serials leave the CRL at its next regeneration.
    if (iss->store->prune(now) > 0 || iss->crl->due(now)) WB_TRY(iss->crl->regenerate(now));
  }
  return {};
}

SerialStatus CertService::serial_status(std::string_view text) const {
  auto serial = normalize_serial(text);
  if (!serial.ok()) return {};
  for (Issuer* iss : {trusted_.get(), untrusted_.get()}) {
    SerialStatus s = iss->store->status(*serial);
    if (s.status != CertStatus::unknown) return s;
  }
  return {};
}

std::uint64_t CertService::crl_number(IssuerRole role) const {
  return issuer_state(role).crl->number();
}

const CertService::Issuer* CertService::find_issuer(std::string_view id) const {
  for (const Issuer* iss : {trusted_.get(), untrusted_.get()}) {
    if (iss->keyring.id() == id) return iss;
  }
  return nullptr;
}

std::shared_ptr<const Bytes> CertService::crl_der(std::string_view id) const {
  const Issuer* iss = find_issuer(id);
  return iss ? iss->crl->der() : nullptr;
}

const Bytes* CertService::ca_der(std::string_view id) const {
  const Issuer* iss = find_issuer(id);
  return iss ? &iss->keyring.cert_der() : nullptr;
}

const std::string* CertService::ca_pem(std::string_view id) const {
  const Issuer* iss = find_issuer(id);
  return iss ? &iss->keyring.cert_pem() : nullptr;
}

Bytes CertService::ocsp(std::span<const std::uint8_t> request_der, std::int64_t now) const {
  const OcspIssuer issuers[] = {trusted_->ocsp(), untrusted_->ocsp()};
  return ocsp_respond(request_der, issuers, now, config_.ocsp);
}

}  // namespace wb::certs
