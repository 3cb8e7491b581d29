#include "agent/daemon/cert_wiring.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "agent/common/log.h"

namespace wb::daemon {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> effective_crl_host(const config::Config& cfg, const std::string& bridge) {
  if (!cfg.crl_host.empty()) return cfg.crl_host;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return errno_error("getifaddrs");
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || bridge != a->ifa_name) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != nullptr) found = text;
  }
  ::freeifaddrs(list);
  if (found.empty()) {
    return make_error(std::errc::invalid_argument,
                      "crl_host is not set and bridge " + bridge +
                          " has no IPv4 address: set crl_host in the config (the host forged "
                          "certificates name for their CRL and OCSP)");
  }
  return found;
}

Result<std::unique_ptr<certs::CertService>> open_cert_service(const config::Config& cfg,
                                                              const std::string& bridge) {
  WB_TRY_ASSIGN(std::string host, effective_crl_host(cfg, bridge));
  certs::CertConfig cc;
  cc.state_dir = cfg.state_dir;
  cc.crl_host = host;
  // [certs]: both already range-checked by the config parser.
  cc.max_validity = std::chrono::hours(24) * cfg.certs.max_validity_days;
  cc.cache_capacity = cfg.certs.cache_size;
  WB_TRY_ASSIGN(auto svc, certs::CertService::open(cc));
  if (!svc->wait_ready(std::chrono::seconds(30))) {
    spdlog::warn("certificates: key pool not ready after 30 s; first forges generate keys inline");
  }
  auto trusted = svc->info(certs::IssuerRole::trusted);
  spdlog::info(
      "certificates: state {} crl_host {}, trusted issuer {} ({}), untrusted issuer {}, "
      "max validity {} days, cache {} entries",
      cfg.state_dir.string(), svc->crl_host(), trusted.issuer_id, trusted.subject,
      svc->info(certs::IssuerRole::untrusted).issuer_id, cfg.certs.max_validity_days,
      cfg.certs.cache_size);
  return svc;
}

CertMaintenance::CertMaintenance(certs::CertService& svc, std::chrono::milliseconds period)
    : svc_(svc), period_(period), thread_([this] { loop(); }) {}

CertMaintenance::~CertMaintenance() {
  stop();
}

void CertMaintenance::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CertMaintenance::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    const bool stop = cv_.wait_for(lock, period_, [this] { return stopping_; });
    lock.unlock();
    // A failed flush or CRL write is logged and retried next round; serving goes on.
    if (Status s = svc_.maintain(unix_now()); !s.ok()) {
      spdlog::warn("certificates maintenance: {}", s.error().message());
    }
    lock.lock();
    if (stop) return;
  }
}

}  // namespace wb::daemon
